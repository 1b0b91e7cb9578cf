import { describe, expect, it } from '@jest/globals';
import { cardBrand, ibanValid, ipv4Valid, luhnValid, ssnValid } from './validators.js';

describe('validators', () => {
  it('Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('12a4')).toBe(false);
  });

  it.each([
    ['4111111111111111', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
    ['30569309025904', 'diners'],
    ['3530111333300000', 'jcb'],
    ['6200000000000005', 'unionpay'],
    ['1234567812345670', undefined],
    ['37828224631000', undefined], // Amex prefix with 14 digits
  ])('card brand of %s is %s', (digits, brand) => {
    expect(cardBrand(digits)).toBe(brand);
  });

  it('SSN area, group and serial rules', () => {
    expect(ssnValid('536', '22', '1234')).toBe(true);
    expect(ssnValid('000', '22', '1234')).toBe(false);
    expect(ssnValid('666', '22', '1234')).toBe(false);
    expect(ssnValid('912', '22', '1234')).toBe(false);
    expect(ssnValid('536', '00', '1234')).toBe(false);
    expect(ssnValid('536', '22', '0000')).toBe(false);
  });

  it('IBAN mod-97 with per-country length', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false); // checksum
    expect(ibanValid('DE8937040044053201300')).toBe(false); // length for DE is 22
    expect(ibanValid('GB29NWBK60161331926819')).toBe(true);
    expect(ibanValid('XX29NWBK60161331926819')).toBe(false); // unknown country
    expect(ibanValid('NO9386011117947')).toBe(true);
  });

  it('IPv4 octets', () => {
    expect(ipv4Valid('203.0.113.42')).toBe(true);
    expect(ipv4Valid('256.1.1.1')).toBe(false);
    expect(ipv4Valid('01.2.3.4')).toBe(false);
    expect(ipv4Valid('1.2.3')).toBe(false);
  });
});
