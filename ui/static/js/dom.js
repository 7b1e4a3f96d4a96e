// A small DOM builder. Text is always set as text, never parsed as HTML: names of files
// and folders come from users.

// h creates an element: h('button', {type: 'button', onclick: fn, class: 'x'}, 'text', child).
// Attributes whose value is false, null or undefined are left out; on* keys add listeners;
// dataset and aria keys are plain attributes (data-x, aria-x).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'hidden' || k === 'disabled' || k === 'multiple' || k === 'required' || k === 'open') el[k] = Boolean(v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// append adds children to el, skipping null, undefined and false (which Element.append
// would write out as text).
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// uid returns an id unique in the page, for label/aria references.
let next = 0;
export function uid(prefix = 'id') {
  next += 1;
  return `${prefix}-${next}`;
}
