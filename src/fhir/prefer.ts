/** The `Prefer` header: https://hl7.org/fhir/R4/http.html#ops */
export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function parsePrefer(header: string | undefined): { return?: ReturnPreference; handling?: 'strict' | 'lenient'; respondAsync: boolean } {
  const out: { return?: ReturnPreference; handling?: 'strict' | 'lenient'; respondAsync: boolean } = { respondAsync: false };
  for (const part of (header ?? '').split(/[,;]/)) {
    const [rawKey, rawValue] = part.split('=');
    const key = rawKey?.trim().toLowerCase();
    const value = rawValue?.trim().replace(/^"|"$/g, '');
    if (key === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) {
      out.return = value;
    } else if (key === 'handling' && (value === 'strict' || value === 'lenient')) {
      out.handling = value;
    } else if (key === 'respond-async') {
      out.respondAsync = true;
    }
  }
  return out;
}
