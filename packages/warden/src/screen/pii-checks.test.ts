import { describe, expect, it } from 'vitest';
import { cardIssuer, ibanValid, luhnValid, ssnValid } from './pii-checks.js';

describe('luhnValid', () => {
  it('accepts network test numbers and rejects a changed digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('41a1')).toBe(false);
  });
});

describe('cardIssuer', () => {
  it.each([
    ['4111111111111111', 'visa'],
    ['4222222222222', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
    ['3530111333300000', 'jcb'],
    ['30569309025904', 'diners'],
    ['6200000000000005', 'unionpay'],
    ['6759649826438453', 'maestro'],
  ])('%s is %s', (digits, issuer) => {
    expect(cardIssuer(digits)).toBe(issuer);
  });

  it('rejects unknown prefixes and lengths a network does not issue', () => {
    expect(cardIssuer('1234567812345670')).toBeUndefined();
    expect(cardIssuer('378282246310005' + '0')).toBeUndefined(); // Amex is 15 digits
    expect(cardIssuer('55555555555544')).toBeUndefined(); // Mastercard is 16 digits
  });
});

describe('ibanValid', () => {
  it('accepts registry examples', () => {
    for (const iban of ['GB82WEST12345698765432', 'DE89370400440532013000', 'FR1420041010050500013M02606', 'NL91ABNA0417164300', 'NO9386011117947']) {
      expect(ibanValid(iban)).toBe(true);
    }
  });

  it('rejects a wrong check digit, a wrong length and an unknown country', () => {
    expect(ibanValid('GB83WEST12345698765432')).toBe(false);
    expect(ibanValid('GB82WEST1234569876543')).toBe(false);
    expect(ibanValid('XX82WEST12345698765432')).toBe(false);
  });
});

describe('ssnValid', () => {
  it('applies the area, group and serial ranges', () => {
    expect(ssnValid('536221234')).toBe(true);
    expect(ssnValid('899011234')).toBe(true);
    expect(ssnValid('000221234')).toBe(false);
    expect(ssnValid('666221234')).toBe(false);
    expect(ssnValid('900221234')).toBe(false);
    expect(ssnValid('536001234')).toBe(false);
    expect(ssnValid('536220000')).toBe(false);
  });

  it('rejects numbers the SSA says were never issued', () => {
    expect(ssnValid('078051120')).toBe(false);
    expect(ssnValid('123456789')).toBe(false);
  });
});
