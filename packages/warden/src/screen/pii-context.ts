/**
 * Context words around a number candidate: what the nearest word before it (or a label right after it)
 * says the number is. "Phone: 416 60 039" and "416 60 039 office" are phone numbers; "licence number
 * 416 60 039" is not. Only a bounded window is read, so the cost per candidate is constant.
 */

/**
 * What a context word says a nearby number is. `other` = an identifier that is not PII we report;
 * `number` = only a weak word ("number", "no.", "#") with no stronger word before it ("my number is").
 */
export type ContextKind = 'phone' | 'card' | 'ssn' | 'other' | 'number';

/** Words that say "a number" without saying which: the word before them decides, if there is one. */
const WEAK_WORDS: ReadonlySet<string> = new Set(['number', 'numbers', 'no', 'nr', 'num', 'nummer', 'numéro', 'numero']);

const BEFORE_WORDS: Readonly<Record<string, ContextKind>> = {
  phone: 'phone', phones: 'phone', telephone: 'phone', tel: 'phone', tele: 'phone', ph: 'phone',
  mobile: 'phone', mob: 'phone', cell: 'phone', cellphone: 'phone', fax: 'phone', desk: 'phone',
  call: 'phone', calling: 'phone', called: 'phone', text: 'phone', sms: 'phone', whatsapp: 'phone',
  contact: 'phone', dial: 'phone', reach: 'phone', ring: 'phone', message: 'phone', messages: 'phone',
  answering: 'phone', hotline: 'phone', helpline: 'phone', landline: 'phone', telefon: 'phone',
  telefono: 'phone', téléphone: 'phone', tél: 'phone', teléfono: 'phone', móvil: 'phone', movil: 'phone',
  celular: 'phone', mobil: 'phone', mobiel: 'phone', telefoon: 'phone', portable: 'phone', handy: 'phone',
  phonenumber: 'phone', mobilephone: 'phone', mobilenumber: 'phone', telephonenumber: 'phone',
  faxnumber: 'phone', cellnumber: 'phone', phoneno: 'phone', telno: 'phone',
  ssn: 'ssn', ssns: 'ssn', social: 'ssn', security: 'ssn', socialsecuritynumber: 'ssn',
  cardnumber: 'card', creditcard: 'card', ccnumber: 'card',
  card: 'card', cards: 'card', cc: 'card', credit: 'card', debit: 'card', visa: 'card',
  mastercard: 'card', amex: 'card', maestro: 'card', jcb: 'card', diners: 'card', pan: 'card',
  licence: 'other', license: 'other', account: 'other', acct: 'other', order: 'other',
  invoice: 'other', zip: 'other', postal: 'other', postcode: 'other', passport: 'other', id: 'other',
  ref: 'other', reference: 'other', tracking: 'other', iban: 'other', routing: 'other', serial: 'other',
  isbn: 'other', version: 'other', build: 'other', box: 'other', apt: 'other', suite: 'other',
  unit: 'other', room: 'other', flight: 'other', ticket: 'other', booking: 'other', case: 'other',
  transaction: 'other', customer: 'other', member: 'other', policy: 'other', claim: 'other',
};

const AFTER_WORDS: ReadonlySet<string> = new Set([
  'office', 'fax', 'mobile', 'cell', 'home', 'work', 'phone', 'tel', 'landline', 'direct', 'main',
]);

const BEFORE_WINDOW = 40;
const AFTER_WINDOW = 16;

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7);
}

/**
 * The kind of the nearest context word in the {@link BEFORE_WINDOW} characters before `start`, reading
 * backwards and stopping at the first digit (a word before another number belongs to that number).
 */
export function contextBefore(text: string, start: number): ContextKind | undefined {
  const lo = Math.max(0, start - BEFORE_WINDOW);
  let weak = false;
  let p = start - 1;
  while (p >= lo) {
    const c = text.charCodeAt(p);
    if (c >= 48 && c <= 57) break;
    if (!isLetter(c)) {
      if (c === 35) weak = true; // '#'
      p--;
      continue;
    }
    const wordEnd = p + 1;
    while (p >= lo && isLetter(text.charCodeAt(p))) p--;
    // A word cut by the window edge is not trusted.
    if (p < lo && lo > 0 && isLetter(text.charCodeAt(lo - 1))) break;
    const word = text.slice(p + 1, wordEnd).toLowerCase();
    const kind = BEFORE_WORDS[word];
    if (kind !== undefined) return kind;
    if (WEAK_WORDS.has(word)) weak = true;
  }
  return weak ? 'number' : undefined;
}

/** True if a phone label ("office", "fax", "mobile", ...) follows `end` after at most a few separators. */
export function phoneLabelAfter(text: string, end: number): boolean {
  const hi = Math.min(text.length, end + AFTER_WINDOW);
  let p = end;
  let skipped = 0;
  while (p < hi && skipped < 3) {
    const c = text.charCodeAt(p);
    if (c === 32 || c === 45 || c === 40 || c === 44 || c === 92 || c === 9 || c === 58) {
      p++;
      skipped++;
    } else {
      break;
    }
  }
  const wordStart = p;
  while (p < hi && isLetter(text.charCodeAt(p))) p++;
  if (p === wordStart || (p < text.length && isLetter(text.charCodeAt(p)))) return false;
  return AFTER_WORDS.has(text.slice(wordStart, p).toLowerCase());
}
