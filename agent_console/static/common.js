// Shared by the console and the wallboard: commands to the server, the event
// stream, building DOM nodes (text only: nothing from the server is ever
// parsed as HTML), and durations on the server's clock.
"use strict";

const CC = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  let clockOffset = 0;  // server time - browser time, in seconds

  async function send(method, path, body) {
    const options = {method, credentials: "same-origin",
                     headers: {"Accept": "application/json", "X-CSRF-Token": csrf}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response, data = null;
    try {
      response = await fetch(path, options);
    } catch (err) {
      return {ok: false, status: 0, message: "the server cannot be reached"};
    }
    const text = await response.text();
    try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
    const message = (data && (data.message || data.error)) || text.trim() || response.statusText;
    return {ok: response.ok, status: response.status, data, message};
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function now() { return Date.now() / 1000 + clockOffset; }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(s).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
  }

  // The stream reconnects by itself (the server says how soon); every
  // (re)connection starts with the whole picture, so handlers just render.
  function stream(handlers, onStatus) {
    const source = new EventSource("/events");
    source.addEventListener("hello", (e) => {
      const hello = JSON.parse(e.data);
      clockOffset = hello.now - Date.now() / 1000;
      onStatus && onStatus(true);
      handlers.hello && handlers.hello(hello);
    });
    for (const [kind, handler] of Object.entries(handlers)) {
      if (kind === "hello") continue;
      source.addEventListener(kind, (e) => handler(JSON.parse(e.data)));
    }
    source.onerror = () => onStatus && onStatus(false);
    return source;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  return {send, el, now, duration, percent, stream, clear,
          post: (path, body) => send("POST", path, body === undefined ? {} : body),
          put: (path, body) => send("PUT", path, body),
          get: (path) => send("GET", path)};
})();
