/**
 * The SQL of each built-in measure, over the search index tables (sp_*), the
 * referral table and resource history: no CQL engine, one statement per
 * evaluation. Each measure is a row source with one column per dimension
 * (measure-definitions); the report groups it by GROUPING SETS, so the
 * total and every stratifier asked for come from one scan, and GROUPING()
 * tells the sets apart (a NULL dimension value stays distinguishable).
 * Pure: builds the query, runs nothing.
 */
import { sql, type RawBuilder } from 'kysely';
import { cluesSystem } from '../mx/systems.ts';
import { actCodeSystem } from '../referral/systems.ts';
import { levelOfCareUrl } from '../summary/authoring-unit.ts';
import { relacionTemporalSystem, type Dimension, type MeasureDef } from './definitions.ts';

export const allDimensions: readonly Dimension[] = ['unidad', 'nivel', 'especialidad', 'clase', 'dia', 'semana', 'mes', 'unidad_referente', 'estado', 'modalidad', 'equipo', 'procedimiento', 'evento', 'grupo', 'relacion'];

export interface MeasureQuery {
  /** Inclusive start and exclusive end of the reporting period. */
  from: Date;
  to: Date;
  /** Now: a receta line has expired only once its validity ended. */
  now: Date;
  /** Only rows where one of the measure's unit dimensions is one of these CLUES (caller's units, `subject`); absent: all. */
  units?: readonly string[];
  /** The sets to group by (each a list of dimensions); the total is always computed. */
  sets: readonly (readonly Dimension[])[];
  /** Types of the measure's `reads` the caller may not read in full: nothing of theirs is joined or counted. */
  hidden?: ReadonlySet<string>;
}

/** `true` when the caller reads every record of `type`, else `false`: ANDed into the join that reads it. */
function readable(q: MeasureQuery, type: string): RawBuilder<unknown> {
  return q.hidden?.has(type) ? sql`false` : sql`true`;
}

/** Organizations with a CLUES, and their level of care (extension mx-nivel-atencion): few rows, read once. */
const unitsCte = (q: MeasureQuery) => sql`units AS MATERIALIZED (
  SELECT t.id, min(t.code) AS clues,
    (SELECT e->'valueCoding'->>'code' FROM jsonb_array_elements(coalesce(r.content::jsonb->'extension', '[]'::jsonb)) AS e WHERE e->>'url' = ${levelOfCareUrl} LIMIT 1) AS nivel
  FROM sp_token t JOIN resource r ON r.resource_type = 'Organization' AND r.id = t.id
  WHERE t.resource_type = 'Organization' AND t.param = 'clues' AND t.system = ${cluesSystem} AND ${readable(q, 'Organization')}
  GROUP BY t.id, r.content
)`;

function periods(column: RawBuilder<unknown>): RawBuilder<unknown> {
  // Periods in UTC, as dates without a time zone are read everywhere else in search (src/search/date-range.ts).
  return sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS dia, to_char(${column} AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS semana, to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM') AS mes`;
}

const firstServiceType = (type: string, id: RawBuilder<unknown>) =>
  sql`(SELECT st.code FROM sp_token st WHERE st.resource_type = ${type} AND st.id = ${id} AND st.param = 'service-type' ORDER BY st.grp, st.system, st.code LIMIT 1)`;

function encounterRows(q: MeasureQuery, classes: readonly string[], withReferrer: boolean): RawBuilder<unknown> {
  const referrer = withReferrer && !q.hidden?.has('ServiceRequest')
    ? sql`(SELECT rf.requester_clues FROM sp_reference b JOIN referral rf ON rf.service_request_id = b.target_id
           WHERE b.resource_type = 'Encounter' AND b.id = e.id AND b.param = 'based-on' AND b.target_type = 'ServiceRequest' LIMIT 1)`
    : sql`NULL::text`;
  // An Encounter's facts are read with one index descent per table, not one per fact: its sp_token rows
  // (status, class, type, serviceType) lie side by side in the index that leads with the resource's id
  // (migrations/20261201020000_measure_index_only.ts, covering: no table page is read), and one aggregate picks
  // each fact out. The week's ids come from the date index alone. As joins, the planner would hash all 1,000,000
  // Encounters' class or status rows to keep ~20,000. serviceType is 0..1 on Encounter, so its codings are one
  // group (grp 0) and the first by (system, code) is what firstServiceType picks elsewhere.
  return sql`
    SELECT e.id, u.clues AS unidad, u.nivel, e.especialidad, e.clase, ${periods(sql.ref('e.lo'))}, ${referrer} AS unidad_referente,
      NULL::text AS estado, NULL::text AS modalidad, NULL::text AS equipo, NULL::text AS procedimiento, NULL::text AS evento, NULL::text AS grupo, NULL::numeric AS dias, e.relacion
    FROM (
      SELECT d.id, d.lo, t.status, t.clase, t.especialidad, t.relacion, p.provider
      FROM sp_date d
      CROSS JOIN LATERAL (
        SELECT min(x.code) FILTER (WHERE x.param = 'status') AS status,
          min(x.code) FILTER (WHERE x.param = 'class' AND x.system = ${actCodeSystem}) AS clase,
          (array_agg(x.code ORDER BY x.system, x.code) FILTER (WHERE x.param = 'service-type'))[1] AS especialidad,
          min(x.code) FILTER (WHERE x.param = 'type' AND x.system = ${relacionTemporalSystem}) AS relacion
        FROM sp_token AS x
        WHERE x.resource_type = 'Encounter' AND x.id = d.id AND x.param IN ('status', 'class', 'service-type', 'type')
      ) AS t
      LEFT JOIN LATERAL (
        SELECT x.target_id AS provider FROM sp_reference AS x
        WHERE x.resource_type = 'Encounter' AND x.id = d.id AND x.param = 'service-provider' AND x.target_type = 'Organization' LIMIT 1
      ) AS p ON true
      WHERE d.resource_type = 'Encounter' AND d.param = 'date' AND d.lo >= ${q.from} AND d.lo < ${q.to}
    ) AS e
    LEFT JOIN units u ON u.id = e.provider
    WHERE e.status = 'finished' AND e.clase = ANY(${[...classes]}::text[])`;
}

function referralRows(q: MeasureQuery): RawBuilder<unknown> {
  // Requested: when the referral was registered (its Task's first version); completed: the first Task version whose status is completed.
  return sql`
    SELECT rf.task_id AS id, rf.owner_clues AS unidad, NULL::text AS nivel, ${firstServiceType('Task', sql.ref('rf.task_id'))} AS especialidad, NULL::text AS clase,
      ${periods(sql.ref('rf.created'))}, rf.requester_clues AS unidad_referente, ts.code AS estado, NULL::text AS modalidad, NULL::text AS equipo, NULL::text AS procedimiento, NULL::text AS evento, NULL::text AS grupo,
      CASE WHEN ts.code = 'completed' THEN
        round((extract(epoch FROM (SELECT min(h.last_updated) FROM resource_history h WHERE h.resource_type = 'Task' AND h.id = rf.task_id AND h.content::jsonb->>'status' = 'completed') - rf.created) / 86400)::numeric, 2)
      END AS dias, NULL::text AS relacion
    FROM referral rf
    JOIN sp_token ts ON ts.resource_type = 'Task' AND ts.id = rf.task_id AND ts.param = 'status'
    WHERE rf.created >= ${q.from} AND rf.created < ${q.to}`;
}

function imagingRows(q: MeasureQuery): RawBuilder<unknown> {
  // One row per (study, modality, scanner): a study with two modalities counts once in each, once in the total (count DISTINCT).
  return sql`
    SELECT d.id, u.clues AS unidad, NULL::text AS nivel, NULL::text AS especialidad, NULL::text AS clase, ${periods(sql.ref('d.lo'))},
      NULL::text AS unidad_referente, NULL::text AS estado, m.code AS modalidad, pf.target_id AS equipo, NULL::text AS procedimiento, NULL::text AS evento, NULL::text AS grupo, NULL::numeric AS dias, NULL::text AS relacion
    FROM sp_date d
    LEFT JOIN sp_token m ON m.resource_type = 'ImagingStudy' AND m.id = d.id AND m.param = 'modality'
    LEFT JOIN sp_reference pf ON pf.resource_type = 'ImagingStudy' AND pf.id = d.id AND pf.param = 'performer' AND pf.target_type = 'Device'
    LEFT JOIN sp_reference ow ON ow.resource_type = 'Device' AND ow.id = pf.target_id AND ow.param = 'organization' AND ow.target_type = 'Organization' AND ${readable(q, 'Device')}
    LEFT JOIN units u ON u.id = ow.target_id
    WHERE d.resource_type = 'ImagingStudy' AND d.param = 'started' AND d.lo >= ${q.from} AND d.lo < ${q.to}
      AND NOT EXISTS (SELECT 1 FROM sp_token s WHERE s.resource_type = 'ImagingStudy' AND s.id = d.id AND s.param = 'status' AND s.code IN ('cancelled', 'entered-in-error'))`;
}

function procedureRows(q: MeasureQuery): RawBuilder<unknown> {
  // The unit is the one of the procedure's Encounter (Procedure has no serviceProvider of its own).
  return sql`
    SELECT d.id, u.clues AS unidad, NULL::text AS nivel, NULL::text AS especialidad, NULL::text AS clase, ${periods(sql.ref('d.lo'))},
      NULL::text AS unidad_referente, NULL::text AS estado, NULL::text AS modalidad, NULL::text AS equipo,
      (SELECT c.code FROM sp_token c WHERE c.resource_type = 'Procedure' AND c.id = d.id AND c.param = 'code' ORDER BY c.grp, c.system, c.code LIMIT 1) AS procedimiento,
      NULL::text AS evento, NULL::text AS grupo,
      NULL::numeric AS dias, NULL::text AS relacion
    FROM sp_date d
    JOIN sp_token s ON s.resource_type = 'Procedure' AND s.id = d.id AND s.param = 'status' AND s.code = 'completed'
    LEFT JOIN sp_reference e ON e.resource_type = 'Procedure' AND e.id = d.id AND e.param = 'encounter' AND e.target_type = 'Encounter'
    LEFT JOIN sp_reference sp ON sp.resource_type = 'Encounter' AND sp.id = e.target_id AND sp.param = 'service-provider' AND sp.target_type = 'Organization' AND ${readable(q, 'Encounter')}
    LEFT JOIN units u ON u.id = sp.target_id
    WHERE d.resource_type = 'Procedure' AND d.param = 'date' AND d.lo >= ${q.from} AND d.lo < ${q.to}`;
}

function recetaRows(q: MeasureQuery): RawBuilder<unknown> {
  // From the receta tables (src/receta): what was signed, what the dispense ledger counted, what ran out unfilled.
  const rest = (event: string, group: RawBuilder<unknown>, at: RawBuilder<unknown>) =>
    sql`rc.clues AS unidad, NULL::text AS nivel, NULL::text AS especialidad, NULL::text AS clase, ${periods(at)}, NULL::text AS unidad_referente,
      NULL::text AS estado, NULL::text AS modalidad, NULL::text AS equipo, NULL::text AS procedimiento, ${event}::text AS evento, ${group} AS grupo, NULL::numeric AS dias, NULL::text AS relacion`;
  const controlled = sql`(SELECT min(ri.controlled_group) FROM receta_item ri WHERE ri.folio_system = rc.folio_system AND ri.folio = rc.folio)`;
  const until = sql`least(${q.to}::timestamptz, ${q.now}::timestamptz)`;
  return sql`
    SELECT rc.folio_system || '|' || rc.folio AS id, ${rest('emitida', controlled, sql.ref('rc.signed_at'))}
    FROM receta rc WHERE rc.signed_at >= ${q.from} AND rc.signed_at < ${q.to}
    UNION ALL
    SELECT d.dispense_id, ${rest('surtida', sql.ref('ri.controlled_group'), sql.ref('d.recorded'))}
    FROM receta_dispense d JOIN receta_item ri ON ri.medication_request_id = d.medication_request_id JOIN receta rc ON rc.folio_system = ri.folio_system AND rc.folio = ri.folio
    WHERE d.counted AND d.recorded >= ${q.from} AND d.recorded < ${q.to} AND ${readable(q, 'MedicationDispense')}
    UNION ALL
    SELECT ri.medication_request_id, ${rest('vencida', sql.ref('ri.controlled_group'), sql.ref('ri.valid_until'))}
    FROM receta_item ri JOIN receta rc ON rc.folio_system = ri.folio_system AND rc.folio = ri.folio
    WHERE ri.valid_until >= ${q.from} AND ri.valid_until < ${until}
      AND coalesce((SELECT sum(d.quantity) FROM receta_dispense d WHERE d.medication_request_id = ri.medication_request_id AND d.counted), 0) < ri.max_total`;
}

function rowSource(def: MeasureDef, q: MeasureQuery): RawBuilder<unknown> {
  switch (def.id) {
    case 'consultas':
      return encounterRows(q, ['AMB', 'VR'], false);
    case 'teleconsultas':
      return encounterRows(q, ['VR'], true);
    case 'referencias':
      return referralRows(q);
    case 'estudios-imagen':
      return imagingRows(q);
    case 'procedimientos':
      return procedureRows(q);
    case 'recetas':
      return recetaRows(q);
    default:
      throw new Error(`no SQL for measure ${def.id}`);
  }
}

/**
 * GROUPING() over the dimensions the sets use (PostgreSQL allows no others) is a bit mask, most significant bit
 * first: 1 = not grouped by it. `used` in allDimensions order.
 */
export function usedDimensions(sets: readonly (readonly Dimension[])[]): Dimension[] {
  return allDimensions.filter((d) => sets.some((s) => s.includes(d)));
}

export function groupingMask(set: readonly Dimension[], used: readonly Dimension[]): number {
  return used.reduce((mask, d, i) => (set.includes(d) ? mask : mask | (1 << (used.length - 1 - i))), 0);
}

export interface MeasureRow {
  mask: number;
  count: number;
  /** Rows with a turnaround (completed referrals), its median and 90th percentile in days. */
  measured: number;
  median: string | null;
  p90: string | null;
  values: Partial<Record<Dimension, string | null>>;
}

export function measureSql(def: MeasureDef, q: MeasureQuery): RawBuilder<Record<string, unknown>> {
  const unitFilter = q.units
    ? sql`WHERE ${sql.join(def.unitDimensions.map((d) => sql`${sql.ref(d)} = ANY(${[...q.units!]}::text[])`), sql` OR `)}`
    : sql``;
  const distinct = def.id === 'estudios-imagen';
  const count = distinct ? sql`count(DISTINCT id)` : sql`count(*)`;
  const measured = distinct ? sql`count(DISTINCT id) FILTER (WHERE dias IS NOT NULL)` : sql`count(dias)`;
  const seen = new Set<string>();
  const sets = [[], ...q.sets].filter((s) => {
    const key = [...s].sort().join(',');
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const used = usedDimensions(sets);
  // Only referrals have a turnaround; an ordered-set aggregate would also force every grouping set through a sort.
  const percentiles = def.turnaround
    ? sql`(percentile_cont(0.5) WITHIN GROUP (ORDER BY dias))::text AS median, (percentile_cont(0.9) WITHIN GROUP (ORDER BY dias))::text AS p90`
    : sql`NULL::text AS median, NULL::text AS p90`;
  const groupingSets = sql.join(sets.map((s) => sql`(${s.length > 0 ? sql.join(s.map((d) => sql.ref(d))) : sql``})`));
  return sql<Record<string, unknown>>`
    WITH ${unitsCte(q)}, rows AS (${rowSource(def, q)})
    SELECT ${used.length > 0 ? sql`GROUPING(${sql.join(used.map((d) => sql.ref(d)))})` : sql`0`}::int AS mask, ${count}::int AS count, ${measured}::int AS measured,
      ${percentiles},
      ${sql.join(allDimensions.map((d) => (used.includes(d) ? sql.ref(d) : sql`NULL::text AS ${sql.ref(d)}`)))}
    FROM rows ${unitFilter}
    GROUP BY GROUPING SETS (${groupingSets})`;
}

/** Turns the query's rows into typed rows. */
export function toMeasureRows(rows: readonly Record<string, unknown>[]): MeasureRow[] {
  return rows.map((r) => ({
    mask: Number(r.mask),
    count: Number(r.count),
    measured: Number(r.measured),
    median: (r.median as string | null) ?? null,
    p90: (r.p90 as string | null) ?? null,
    values: Object.fromEntries(allDimensions.map((d) => [d, (r[d] as string | null) ?? null])),
  }));
}
