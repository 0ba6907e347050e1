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
 * Masks emails as `[email]` (also URL-encoded, `jane%40mail.example`) and runs of 9 or more
 * digits (card, phone, account numbers) as `[number]`. A run is kept only where it is a
 * stack frame's position: a `:line:column` pair, or a `:line` after `.js` (`.mjs`…). The
 * address part must end in a letter domain, so versions like `pkg@1.2.3` stay. Both
 * patterns are bounded (a local part of at most 64 characters), so the cost stays linear in
 * the text's length; the email pattern runs only where there is an `@` or `%40`.
 */
export const mask = (text: string): string =>
  (/@|%40/.test(text) ? text.replace(/[\w.+-]{1,64}(@|%40)[\w-]+(\.[\w-]+)*\.[a-z]{2,}\b/gi, '[email]') : text)
    .replace(/(js|:\d+):\d+|\d{9,}/g, (run, position) => (position ? run : '[number]'));

/**
 * A URL with its credentials (`//user:password@`) and fragment dropped and every query
 * value replaced by `[redacted]`, except those of `keepParams`:
 * `/search?q=shoes&page=2#top` → `/search?q=[redacted]&page=[redacted]`.
 * Works on the string, so relative URLs and URLs cut out of a stack trace work too.
 */
export const redactUrl = (url: string, keepParams: string[] = keep): string =>
  mask(
    url
      .split('#')[0]!
      .replace(/\/\/[^/@]*@/, '//')
      .replace(/([?&])([^&=]*)=[^&]*/g, (param, sep: string, name: string) => (keepParams.includes(name) ? param : sep + name + '=[redacted]')),
  );

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
    const position = /(:\d+){0,2}$/.exec(word)![0];
    return redactUrl(word.slice(0, word.length - position.length)) + position;
  });
