/**
 * The 81 "palabras inconvenientes" of the RENAPO Instructivo normativo para
 * la asignación de la CURP, Anexo 2 (the same list as python-stdnum's
 * `stdnum/mx/curp.py` and mexa-py). When characters 1–4 of a CURP would spell
 * one of them, RENAPO replaces the 2nd character with X (CACA → CXCA), so a
 * CURP that starts with one of them was never issued.
 */
export const curpInconvenientWords: ReadonlySet<string> = new Set(
  `BACA BAKA BUEI BUEY CACA CACO CAGA CAGO CAKA CAKO COGE COGI COJA COJE
   COJI COJO COLA CULO FALO FETO GETA GUEI GUEY JETA JOTO KACA KACO KAGA
   KAGO KAKA KAKO KOGE KOGI KOJA KOJE KOJI KOJO KOLA KULO LILO LOCA LOCO
   LOKA LOKO MAME MAMO MEAR MEAS MEON MIAR MION MOCO MOKO MULA MULO NACA
   NACO PEDA PEDO PENE PIPI PITO POPO PUTA PUTO QULO RATA ROBA ROBE ROBO
   RUIN SENO TETA VACA VAGA VAGO VAKA VUEI VUEY WUEI WUEY`.split(/\s+/),
);
