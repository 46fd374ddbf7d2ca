// Go's encoding/json string encoding, which kubectl and hubble print with:
// HTML-safe (`<`, `>`, `&` as \u003c...), U+2028/9 escaped, and since Go 1.22
// \b and \f as short escapes, exactly as JSON.stringify writes them.

/** A JSON string literal as Go's encoding/json writes it. */
export function goJsonString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/["\\\u0000-\u001f<>&\u007f-\uffff]/.test(s)) return `"${s}"`;
  const j = JSON.stringify(s);
  if (!/[<>&\u2028\u2029]/.test(j)) return j;
  return j.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
