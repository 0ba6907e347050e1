/** A random id: `bytes` random bytes as lowercase hex (16 bytes give 32 characters). */
export function randomId(bytes = 16): string {
  const buf = new Uint8Array(bytes);
  if (typeof crypto !== 'undefined' && crypto.getRandomValues) crypto.getRandomValues(buf);
  else for (let i = 0; i < bytes; i++) buf[i] = (Math.random() * 256) | 0;
  let hex = '';
  for (let i = 0; i < bytes; i++) hex += (buf[i]! + 256).toString(16).slice(1);
  return hex;
}
