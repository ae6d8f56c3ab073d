import { describe, expect, it } from 'vitest';
import { parseClues, validateClues } from './clues.ts';

// Example from src/mx/README.md ("CLUES").
describe('parseClues', () => {
  it('splits DFIMS000011 into state, institution and consecutive', () => {
    expect(parseClues('DFIMS000011')).toEqual({
      ok: true,
      state: 'DF',
      stateName: 'Ciudad de México',
      institution: 'IMS',
      institutionName: 'IMSS',
      consecutive: '000011',
    });
  });

  it('names ISSSTE and Secretaría de Salud and accepts other institutions without a name', () => {
    expect(parseClues('JCIST000123')).toMatchObject({ ok: true, state: 'JC', institutionName: 'ISSSTE' });
    expect(parseClues('NLSSA001234')).toMatchObject({ ok: true, stateName: 'Nuevo León', institutionName: 'Secretaría de Salud' });
    expect(parseClues('MCXYZ123456')).toMatchObject({ ok: true, institution: 'XYZ', institutionName: undefined });
  });

  it('rejects a state code that is not one of the 32 states, NE included', () => {
    expect(parseClues('ZZIMS000011')).toMatchObject({ ok: false, reason: 'state', en: expect.stringContaining('not "ZZ"') });
    expect(parseClues('NEIMS000011')).toMatchObject({ ok: false, reason: 'state' });
  });

  it('rejects the wrong length, case and characters with the part that is wrong', () => {
    expect(parseClues('DFIMS00001')).toMatchObject({ ok: false, reason: 'length', es: 'CLUES inválida: debe tener 11 caracteres, tiene 10' });
    expect(parseClues('dfims000011')).toMatchObject({ ok: false, reason: 'lowercase' });
    expect(parseClues('DFIMS 00011')).toMatchObject({ ok: false, reason: 'whitespace' });
    expect(parseClues('DFIM1000011')).toMatchObject({ ok: false, reason: 'format', en: expect.stringContaining('characters 1–5') });
    expect(parseClues('DFIMS00001A')).toMatchObject({ ok: false, reason: 'format', en: expect.stringContaining('characters 6–11') });
    expect(parseClues('DFIMÑ000011')).toMatchObject({ ok: false, reason: 'format' });
  });
});

describe('validateClues', () => {
  it('is parseClues without the parts', () => {
    expect(validateClues('DFIMS000011')).toEqual({ ok: true });
    expect(validateClues('ZZIMS000011')).toMatchObject({ ok: false, reason: 'state' });
  });
});
