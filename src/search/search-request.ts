/** The parsed form of a FHIR search (https://hl7.org/fhir/R4/search.html), input of the SQL compiler. */
import type { DateRange } from './date-range.ts';
import type { SearchParam } from './search-parameters.ts';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export interface StringValue { text: string }
/** `system` undefined: any system; null: explicitly no system ("|code"). `code` undefined: any code ("system|"). */
export interface TokenValue { system?: string | null; code?: string }
export interface DateValue { prefix: Prefix; range: DateRange }
export interface NumberValue { prefix: Prefix; value: string; /** half the unit of the last digit given */ half: string }
export interface QuantityValue extends NumberValue { system?: string; code?: string }
export interface ReferenceValue { type?: string; id?: string; url?: string }
export interface UriValue { value: string }
export type ScalarValue = StringValue | TokenValue | DateValue | NumberValue | QuantityValue | ReferenceValue | UriValue;

/** One AND term: a parameter with its OR list of values. */
export type Filter =
  | { kind: 'param'; name: string; param: SearchParam; modifier?: string; values: ScalarValue[] }
  | { kind: 'composite'; name: string; param: SearchParam; values: ScalarValue[][] }
  | { kind: 'missing'; name: string; param: SearchParam; missing: boolean }
  | { kind: 'id'; name: string; ids: string[]; not: boolean }
  | { kind: 'lastUpdated'; name: string; values: DateValue[] }
  | { kind: 'chain'; name: string; param: SearchParam; targets: { type: string; filter: Filter }[] }
  | { kind: 'has'; name: string; sourceType: string; param: SearchParam; filter: Filter };

export type SortKind = 'string' | 'token' | 'date' | 'number' | 'quantity' | 'reference' | 'uri' | 'id' | 'lastUpdated';
export interface SortKey { name: string; kind: SortKind; param?: SearchParam; descending: boolean }

export interface IncludeSpec { sourceType: string; param: SearchParam; code: string; targetType?: string; iterate: boolean }

export interface SearchRequest {
  /** The resource types searched: one for a type-level search; those of _type (or none = all) at system level. */
  types: string[];
  filters: Filter[];
  sort: SortKey[];
  count: number;
  total?: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'false' | 'count' | 'data' | 'text';
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  cursor?: string;
  /** Parameters that were not understood, ignored under Prefer: handling=lenient. */
  ignored: { name: string; reason: { es: string; en: string } }[];
}
