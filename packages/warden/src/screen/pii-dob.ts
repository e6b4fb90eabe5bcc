/**
 * Dates of birth: a calendar date that starts within 60 characters after a birth word ("born",
 * "birth", "birthday", "date of birth", "DOB", "D.O.B."). Other dates are not personal data here and
 * are never reported. Dates: `2/8/1935`, `08.02.1935`, `1935-02-08`, `February 8, 1935`,
 * `8 Feb 1935`, `8th of February 1935`, `February 1935`, with day and month range checks; a bare year
 * (`born in 1935`) only within a few characters of the birth word.
 *
 * The keyword regex is a literal alternation and the date regex reads only bounded windows after the
 * keywords, each character at most a bounded number of times, so the cost stays linear.
 */
import type { ScreenFinding } from './types.js';

const KEYWORD = /\b(?:born|birth(?:day|date)?|dob|d\.o\.b\.?)(?![a-z])/gi;
const WINDOW = 60;
const YEAR_ONLY_WINDOW = 12;
const MAX_DATE_LEN = 30;
const HAS_DIGIT = /\d/;

const MONTH = '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
/** One alternation per layout; each capture group set is read by {@link validDate}. */
const DATE = new RegExp(
  [
    '\\b(\\d{1,2})[/.-](\\d{1,2})[/.-](\\d{4}|\\d{2})(?![\\d/.-]\\d)',
    '\\b(\\d{4})-(\\d{1,2})-(\\d{1,2})(?![\\d-])',
    `\\b(${MONTH})\\.? (\\d{1,2})(?:st|nd|rd|th)?,? (\\d{4})\\b`,
    `\\b(\\d{1,2})(?:st|nd|rd|th)? (?:of )?(${MONTH})\\.?,? (\\d{4})\\b`,
    `\\b(${MONTH})\\.?,? (\\d{4})\\b`,
    '\\b((?:19|20)\\d\\d)\\b(?![/.-]\\d)',
  ].join('|'),
  'gi',
);

function dayMonthOk(a: number, b: number): boolean {
  return a >= 1 && b >= 1 && ((a <= 12 && b <= 31) || (b <= 12 && a <= 31));
}

/** Day and month range checks of a date match. */
function validDate(m: RegExpExecArray): boolean {
  if (m[1] !== undefined) return dayMonthOk(Number(m[1]), Number(m[2]));
  if (m[4] !== undefined) {
    const month = Number(m[5]);
    const day = Number(m[6]);
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
  }
  if (m[7] !== undefined) return Number(m[8]) >= 1 && Number(m[8]) <= 31;
  if (m[10] !== undefined) return Number(m[10]) >= 1 && Number(m[10]) <= 31;
  return true;
}

/** A bare year (`1962`): only accepted within {@link YEAR_ONLY_WINDOW} characters of the keyword. */
function isYearOnly(m: RegExpExecArray): boolean {
  return m[15] !== undefined;
}

/** The first valid date in `text[a, b)` starting at or after `from`, with absolute offsets. */
function firstDate(text: string, a: number, b: number, from: number): { start: number; end: number; yearOnly: boolean } | null {
  const slice = text.slice(a, b);
  if (!HAS_DIGIT.test(slice)) return null;
  const re = new RegExp(DATE);
  re.lastIndex = from - a;
  for (let m = re.exec(slice); m !== null; m = re.exec(slice)) {
    if (validDate(m)) return { start: a + m.index, end: a + m.index + m[0].length, yearOnly: isYearOnly(m) };
  }
  return null;
}

/**
 * Appends date-of-birth findings. The date regex reads only the window after each keyword, and a
 * window that overlaps the previous one is read from where that one stopped (less the length of a
 * date), so overlapping windows (`born born born ...`) do not make the cost quadratic.
 */
export function findDatesOfBirth(text: string, out: ScreenFinding[]): void {
  const keywords = new RegExp(KEYWORD);
  let next: { start: number; end: number; yearOnly: boolean } | null = null;
  let searchedTo = 0;
  let lastEnd = 0;
  for (let k = keywords.exec(text); k !== null; k = keywords.exec(text)) {
    const keywordEnd = k.index + k[0].length;
    const from = Math.max(keywordEnd, lastEnd);
    const windowEnd = Math.min(text.length, keywordEnd + WINDOW + MAX_DATE_LEN);
    if ((next === null || next.start < from) && searchedTo < windowEnd) {
      const a = Math.max(from, searchedTo - MAX_DATE_LEN);
      next = firstDate(text, a, windowEnd, from);
      searchedTo = windowEnd;
    }
    if (next === null || next.start < from || next.start > keywordEnd + WINDOW) continue;
    if (next.yearOnly && next.start - keywordEnd > YEAR_ONLY_WINDOW) continue;
    out.push({ category: 'pii', type: 'date_of_birth', start: next.start, end: next.end, score: 0.8 });
    lastEnd = next.end;
    if (keywords.lastIndex < lastEnd) keywords.lastIndex = lastEnd;
  }
}
