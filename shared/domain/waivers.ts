import { conventionalSchoolYear } from './dates.ts';

/**
 * Who may ask for a KTS data-exchange waiver, and when (KDE: CTCs only, good for one school year,
 * asked January 1 through March 1 for the next year; ATCs are not eligible). Returns the rule a
 * request breaks, in words, or null. `today` is the school's local date.
 */
export function waiverRequestProblem(
  kind: string,
  schoolYear: string,
  today: string,
): string | null {
  if (kind === 'atc')
    return 'ATCs (state-operated centers) are not eligible for a KTS data-exchange waiver; only CTCs may ask.';
  if (kind !== 'ctc')
    return 'Only CTCs (locally operated career and technical centers) may ask for a KTS data-exchange waiver.';
  const current = conventionalSchoolYear(today);
  const first = Number(current.slice(0, 4)) + 1;
  const next = `${first}-${first + 1}`;
  if (schoolYear !== next)
    return `A waiver is asked for the next school year only: on ${today} that is ${next}, not ${schoolYear}.`;
  const md = today.slice(5);
  if (md < '01-01' || md > '03-01')
    return `Waiver requests are taken January 1 through March 1; today (${today}) is outside that window.`;
  return null;
}
