/** JSON.parse that answers undefined for missing or unreadable text instead of throwing. */
export function parse(text: string | null | undefined): any {
  try {
    return JSON.parse(text!);
  } catch {
    return undefined;
  }
}
