import { describe, expect, it } from 'vitest';
import { grantScopes } from './grant-scopes.ts';

describe('grantScopes', () => {
  it('grants what was asked when the registration covers it', () => {
    expect(grantScopes('system/Patient.rs system/Observation.rs', 'system/*.rs')).toEqual({ granted: 'system/Patient.rs system/Observation.rs' });
  });
  it('narrows permissions and wildcards to the registration', () => {
    expect(grantScopes('system/*.cruds', 'system/*.rs')).toEqual({ granted: 'system/*.rs' });
    expect(grantScopes('system/*.rs', 'system/Patient.rs system/Encounter.r')).toEqual({ granted: 'system/Patient.rs system/Encounter.r' });
    expect(grantScopes('system/*.read', 'system/*.cruds')).toEqual({ granted: 'system/*.rs' });
  });
  it('refuses a scope the registration does not cover at all', () => {
    const r = grantScopes('system/Patient.rs system/Observation.rs', 'system/Patient.rs');
    expect(r).toMatchObject({ refused: 'system/Observation.rs' });
    expect(grantScopes('system/Patient.c', 'system/Patient.rs')).toMatchObject({ refused: 'system/Patient.c' });
  });
  it('refuses user/, patient/ and unknown scopes, and an empty request', () => {
    expect(grantScopes('user/*.rs', 'system/*.rs')).toMatchObject({ refused: 'user/*.rs' });
    expect(grantScopes('patient/*.rs', 'system/*.rs')).toMatchObject({ refused: 'patient/*.rs' });
    expect(grantScopes('openid', 'system/*.rs')).toMatchObject({ refused: 'openid' });
    expect(grantScopes('  ', 'system/*.rs')).toMatchObject({ refused: '' });
  });
});
