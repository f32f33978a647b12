/**
 * Email syntax as the CRMs check it before storing an address (HubSpot INVALID_EMAIL, Salesforce
 * INVALID_EMAIL_ADDRESS): a local part of the characters RFC 5322 allows unquoted (no leading, trailing or
 * doubled dots), one `@`, and a domain of letter/digit/hyphen labels ending in an alphabetic top-level domain.
 * No spaces or line breaks anywhere.
 */
export function isEmailAddress(text: string): boolean {
  const at = text.lastIndexOf('@');
  if (at <= 0 || text.indexOf('@') !== at) return false;
  const local = text.slice(0, at);
  const labels = text.slice(at + 1).split('.');
  if (!/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local)) return false;
  if (labels.length < 2) return false;
  if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(l))) return false;
  return /^[A-Za-z]{2,}$/.test(labels[labels.length - 1] ?? '');
}
