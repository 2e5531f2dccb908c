// dom.js — the two DOM helpers every part of the page builds its nodes with.

export const $ = (id) => document.getElementById(id);

// A new element with an optional class and text (text, never HTML: names from the data cannot
// inject markup).
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
