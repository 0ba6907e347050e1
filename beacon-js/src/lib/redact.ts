/**
 * Privacy defaults applied to every string the beacon sends that may hold personal data
 * (issue 3, "Privacy and embedding"): query values redacted unless allow-listed, fragments
 * dropped, emails and long digit runs masked.
 */

let keep: string[] = [];

/** Sets the query parameters whose values survive redaction (`data-keep-params`). */
export const setKeepParams = (names: string[]): void => {
  keep = names;
};

/**
 * Masks emails as `[email]` and runs of 9 or more digits (card, phone, account numbers)
 * as `[number]`. A run right after `:` is a stack frame's line or column and is kept.
 * The address part must end in a letter domain, so versions like `pkg@1.2.3` stay. The
 * email pattern only runs where there is an `@`: on a long run of word characters it
 * would cost time in proportion to the square of its length.
 */
export const mask = (text: string): string =>
  (text.includes('@') ? text.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}\b/gi, '[email]') : text).replace(/(:?)\d{9,}/g, (run, colon: string) =>
    colon ? run : '[number]',
  );

/**
 * A URL with its fragment dropped and every query value replaced by `[redacted]`, except
 * those of `keepParams`: `/search?q=shoes&page=2#top` → `/search?q=[redacted]&page=[redacted]`.
 * Works on the string, so relative URLs and URLs cut out of a stack trace work too.
 */
export function redactUrl(url: string, keepParams: string[] = keep): string {
  url = url.split('#')[0]!;
  const q = url.indexOf('?');
  if (q >= 0) {
    const params = url.slice(q + 1).split('&');
    url = url.slice(0, q + 1) + params.map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 || keepParams.indexOf(p.slice(0, eq)) >= 0 ? p : p.slice(0, eq + 1) + '[redacted]';
    }).join('&');
  }
  return mask(url);
}

/**
 * Redacts free text (a message, a stack trace) word by word: a word with `://` or `?` is a
 * URL or a query string (`https://x/p?id=5`, `/api?token=…`, `?n=1`) and is redacted like
 * one; every word is masked. A stack frame's `:line:column` after a URL is set aside first,
 * so `app.js?v=3:1:2045` becomes `app.js?v=[redacted]:1:2045`. Words, not one pattern over
 * the whole text, keep the cost linear in the text's length; text beyond twice the longest
 * bound (a stack, 16384) is cut first, as it would be cut later anyway.
 */
export const redactText = (text: string): string =>
  text.slice(0, 32768).replace(/[^\s'"()<>]+/g, (word) => {
    if (!/:\/\/|\?/.test(word)) return mask(word);
    const position = /(:\d+)*$/.exec(word)![0];
    return redactUrl(word.slice(0, word.length - position.length)) + position;
  });
