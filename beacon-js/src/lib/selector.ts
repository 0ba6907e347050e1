import { mask } from './redact';

/**
 * A short CSS-like name of an element for breadcrumbs and vitals attribution:
 * tag, `#id` and up to three classes, e.g. `button#buy.primary`. Never text content or an
 * input's value; ids and classes masked like any text (lib/redact.ts). A text node is named by its parent element.
 */
export function selector(node: Node | null | undefined): string | undefined {
  const el = (node?.nodeType === 3 ? node.parentElement : node) as Element | null | undefined;
  return el?.tagName && mask(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + [...el.classList].slice(0, 3).map((c) => '.' + c).join(''));
}
