// The agent console: seat and state, the screen pop, call control, wrap-up.
// Everything shown comes from the server's event stream (/events), so every
// open tab of the agent shows the same; buttons only send commands.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const {el, send, post, put, get, now, duration, clear} = CC;
  const BUSY = ["reserved", "on_call", "on_hold"];
  const LIVE = ["ringing", "dialling", "talking", "on_hold", "consulting"];
  const PHASE_TEXT = {ringing: "ringing", dialling: "dialling", talking: "talking",
    on_hold: "on hold", consulting: "consulting", ended: "ended", missed: "not answered",
    abandoned: "caller hung up", transferred: "transferred"};
  let agent = null, pop = null, chosen = null, notesTimer = null;

  function say(text, bad) {
    const message = $("message");
    message.textContent = text || "";
    message.className = bad ? "error" : "ok";
  }

  async function command(path, body, okText) {
    const result = await post(path, body);
    if (!result.ok) say(result.message, true);
    else if (okText) say(okText);
    return result;
  }

  // -- the agent's state ----------------------------------------------------------
  function renderAgent() {
    const state = agent ? agent.state : "logged_out";
    $("state").textContent = agent ? state.replace("_", " ") : "not logged in to a seat";
    $("state").className = `state state-${state}`;
    $("reason").textContent = agent && agent.reason ? `(${agent.reason})` : "";
    $("seat-name").textContent = agent ? `at seat ${agent.seat}` : "";
    if (agent && agent.presence === "pending_logout") $("reason").textContent += " leaving";
    $("seat-form").classList.toggle("hidden", !!agent);
    $("state-buttons").classList.toggle("hidden", !agent);
    $("btn-ready").disabled = !agent || state === "ready" || BUSY.includes(state);
    $("btn-not-ready").disabled = !agent || BUSY.includes(state);
    $("wrap-up-timer").classList.toggle("hidden", state !== "wrap_up");
    $("btn-hold").disabled = state !== "on_call";
    $("btn-resume").disabled = state !== "on_hold";
    $("btn-hangup").disabled = !["on_call", "on_hold"].includes(state);
    $("btn-transfer").disabled = !["on_call", "on_hold"].includes(state);
    $("btn-dial").disabled = !agent || BUSY.includes(state) || state === "ready";
    tick();
  }

  function tick() {
    $("in-state").textContent = agent ? `for ${duration(now() - agent.since)}` : "";
    if (agent && agent.state === "wrap_up" && agent.wrap_up_until) {
      $("wrap-up-left").textContent = duration(agent.wrap_up_until - now());
    }
    if (pop && pop.answered_at && LIVE.includes(pop.phase)) {
      $("pop-phase").textContent = `${PHASE_TEXT[pop.phase]} ${duration(now() - pop.answered_at)}`;
    }
  }

  // -- the screen pop ---------------------------------------------------------------
  function fact(label, value) {
    return value === null || value === undefined || value === "" ? [] :
      [el("dt", {}, label), el("dd", {}, value)];
  }

  function renderFacts() {
    const facts = $("pop-facts");
    clear(facts);
    const ivr = pop.ivr || {};
    const waited = pop.waited ?? (pop.queued_at ? (pop.answered_at || now()) - pop.queued_at : null);
    facts.append(...fact("Queue", pop.queue), ...fact("Waited", waited === null ? null : duration(waited)),
      ...fact("In the IVR", (ivr.path || []).join(" › ")), ...fact("Keys", ivr.keys),
      ...fact("Account typed", ivr.account), ...fact("Language", ivr.language),
      ...fact("Said", (ivr.words || []).join(", ")), ...fact("Callback to", pop.callback),
      ...fact("Asked by", pop.consult_from ? `${pop.consult_from} (a transfer: the caller is on hold)` : null),
      ...fact("Transfer", pop.transfer ? `${pop.transfer.kind} ${pop.transfer.target}` : null));
  }

  function renderCustomer() {
    const box = $("pop-customer");
    clear(box);
    const card = pop.card;
    if (!card) return;
    const c = card.customer;
    const badges = [el("span", {class: c.level === "vip" ? "badge vip" : "badge"}, c.level)];
    if ((card.do_not_call || []).length) {
      badges.push(el("span", {class: "badge dnc", title: card.do_not_call.join(", ")}, "do not call"));
    }
    box.append(el("h3", {id: "pop-customer-name"},
      el("a", {href: `/crm/customers/${c.id}`, target: "_blank", rel: "noopener"}, c.name),
      " ", ...badges));
    const details = [c.code && `code ${c.code}`, card.company && `of ${card.company.name}`,
      c.language, c.timezone].filter(Boolean).join(" · ");
    box.append(el("p", {class: "muted"}, details));
    box.append(list("Open tickets", card.open_tickets, (t) =>
      `#${t.id} ${t.subject} (${t.status}, ${t.priority})`));
    box.append(list("Pending callbacks", card.pending_callbacks, (cb) =>
      `${cb.due_at} to ${cb.phone_e164}${cb.note ? " — " + cb.note : ""}`));
    box.append(list("Last interactions", card.interactions, (i) =>
      `${(i.started_at || "").slice(0, 16).replace("T", " ")} ${i.channel} ${i.direction}` +
      `${i.disposition_code ? " · " + i.disposition_code : ""}${i.notes ? " · " + i.notes.slice(0, 80) : ""}`));
    const existing = $("ticket-existing");
    clear(existing);
    existing.append(el("option", {value: ""}, "—"));
    for (const t of card.open_tickets || []) {
      existing.append(el("option", {value: `${t.id}:${t.version}`}, `#${t.id} ${t.subject}`));
    }
  }

  function list(title, items, line) {
    if (!items || !items.length) return el("p", {class: "muted"}, `${title}: none`);
    return el("div", {}, el("h4", {}, title), el("ul", {class: "timeline"},
      items.map((item) => el("li", {}, line(item)))));
  }

  function renderMatches() {
    const box = $("pop-matches");
    clear(box);
    const matches = pop.matches || [];
    if (!pop.card && matches.length > 1) {
      box.append(el("p", {}, "Several customers have this number. Whose call is it?"));
    } else if (!pop.card && pop.direction === "inbound") {
      const create = `/crm/customers/new?phone=${encodeURIComponent(pop.caller || "")}` +
        `&linkedid=${encodeURIComponent(pop.linkedid)}`;
      box.append(el("p", {id: "pop-unknown"}, "Unknown caller. ",
        el("a", {href: create, id: "pop-create"}, "Create a customer"), " (checks for duplicates first)."));
    }
    if (matches.length > 1) {
      box.append(el("div", {class: "row", role: "group", "aria-label": "Customers with this number"},
        matches.map((m) => el("button", {type: "button", class: "pick", "aria-pressed": String(m.id === pop.customer_id),
          onclick: () => command("/console/call/customer", {linkedid: pop.linkedid, customer_id: m.id})},
          `${m.name} (${m.level})`))));
      if (pop.more_matches) box.append(el("p", {class: "muted"}, "More share this number: search the customers."));
    }
  }

  function renderPop() {
    $("pop").classList.toggle("hidden", !pop);
    $("no-pop").classList.toggle("hidden", !!pop);
    if (!pop) { renderRecording(); return; }
    $("pop").dataset.linkedid = pop.linkedid;
    $("pop-direction").textContent = pop.direction === "outbound" ? "Calling" : "Call from";
    $("pop-caller").textContent = pop.direction === "outbound" ? pop.number : pop.caller;
    $("pop-phase").textContent = PHASE_TEXT[pop.phase] || pop.phase;
    $("consult-buttons").classList.toggle("hidden", pop.phase !== "consulting");
    renderRecording();
    renderFacts();
    renderCustomer();
    renderMatches();
    if (document.activeElement !== $("notes") && typeof pop.notes === "string") {
      $("notes").value = pop.notes;
    }
    const saved = pop.wrap_up;
    $("wrap-up-saved").textContent = saved ? `Saved: ${saved.disposition}` : "";
    chooseDisposition(saved ? saved.disposition : chosen);
    $("btn-dismiss").disabled = LIVE.includes(pop.phase);
    tick();
  }

  function renderRecording() {
    const rec = (pop && pop.recording) || {};
    const live = pop && ["talking", "on_hold", "consulting"].includes(pop.phase);
    $("recording-state").textContent = !pop ? "Not recorded" : rec.paused ? "Recording paused" :
      rec.recording ? "● Recording" : "Not recorded";
    $("recording-state").className = rec.recording && !rec.paused ? "bad" : "muted";
    $("btn-record").disabled = !live || !!rec.recording;
    $("btn-record-stop").disabled = !live || !rec.recording || rec.mode !== "on_demand";
    $("btn-record-pause").disabled = !live || !rec.recording || !!rec.paused;
    $("btn-record-resume").disabled = !live || !rec.paused;
  }

  function newPop(next) {
    if (!next || !pop || next.linkedid !== pop.linkedid) {  // another call: a fresh wrap-up
      chosen = null;
      $("notes").value = (next && next.notes) || "";
      for (const id of ["ticket-subject", "callback-due", "callback-note"]) $(id).value = "";
    }
    pop = next;
    renderPop();
    if (next && ["ended", "transferred"].includes(next.phase)) loadRecent();
  }

  // -- wrap-up ---------------------------------------------------------------------------
  function chooseDisposition(code) {
    chosen = code || null;
    for (const button of document.querySelectorAll(".dispositions button")) {
      button.setAttribute("aria-pressed", String(button.dataset.code === chosen));
    }
  }

  function typing(target) {
    return target && (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable);
  }

  // Keys 1-9 pick a disposition, but never while the agent types in a field.
  document.addEventListener("keydown", (event) => {
    if (!pop || event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    const button = document.querySelector(`.dispositions button[data-key="${CSS.escape(event.key)}"]`);
    if (!button) return;
    event.preventDefault();
    chooseDisposition(button.dataset.code);
    button.focus();
  });

  function wrapUpBody() {
    const body = {linkedid: pop.linkedid, disposition: chosen, notes: $("notes").value};
    const subject = $("ticket-subject").value.trim(), existing = $("ticket-existing").value;
    if (subject) body.ticket = {subject, priority: $("ticket-priority").value};
    else if (existing) {
      const [id, version] = existing.split(":").map(Number);
      body.ticket = {id, version, status: $("ticket-status").value};
    }
    if ($("callback-due").value) {
      body.callback = {due: $("callback-due").value, note: $("callback-note").value};
      if (pop.card) body.callback.timezone = pop.card.customer.timezone;
    }
    return body;
  }

  async function saveWrapUp() {
    if (!pop) return;
    if (!chosen) { say("Pick a disposition first (keys 1-9).", true); return; }
    clearTimeout(notesTimer);
    const result = await command("/console/wrap-up", wrapUpBody(), "Wrap-up saved.");
    if (result.ok) {
      $("ticket-subject").value = "";
      $("callback-due").value = "";
      loadRecent();
    }
  }

  function notesChanged() {
    clearTimeout(notesTimer);
    $("notes-saved").textContent = "";
    notesTimer = setTimeout(async () => {
      if (!pop) return;
      const result = await put("/console/notes", {linkedid: pop.linkedid, notes: $("notes").value});
      $("notes-saved").textContent = result.ok ? "notes saved" : `notes not saved: ${result.message}`;
    }, 700);
  }

  // -- my last calls (their notes stay editable) ---------------------------------
  async function loadRecent() {
    const result = await get("/console/recent");
    if (!result.ok) return;
    const body = $("recent").tBodies[0];
    clear(body);
    for (const item of result.data.items) {
      const area = el("textarea", {"aria-label": `Notes of call ${item.linkedid || item.id}`, rows: 2}, item.notes || "");
      const save = el("button", {type: "button", onclick: async () => {
        const r = await put("/console/notes", {interaction_id: item.id, notes: area.value});
        say(r.ok ? "Notes saved." : r.message, !r.ok);
      }}, "Save");
      body.append(el("tr", {},
        el("td", {}, (item.started_at || "").slice(0, 16).replace("T", " ")),
        el("td", {}, item.customer_id ? el("a", {href: `/crm/customers/${item.customer_id}`}, item.customer) : "—"),
        el("td", {}, item.number), el("td", {}, item.disposition || "—"),
        el("td", {}, area, save)));
    }
  }

  // -- wiring --------------------------------------------------------------------------
  $("seat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    command("/console/seat", {seat: $("seat").value.trim()});
  });
  $("btn-ready").addEventListener("click", () => command("/console/ready"));
  $("btn-not-ready").addEventListener("click", () =>
    command("/console/not-ready", {reason: $("reason-select").value}));
  $("btn-sign-off").addEventListener("click", () => command("/console/sign-off"));
  $("btn-end-wrap-up").addEventListener("click", () => command("/console/wrap-up/end"));
  $("btn-hold").addEventListener("click", () => command("/console/call/hold"));
  $("btn-resume").addEventListener("click", () => command("/console/call/resume"));
  $("btn-hangup").addEventListener("click", () => command("/console/call/hangup"));
  $("btn-complete").addEventListener("click", () => command("/console/call/transfer/complete"));
  for (const [id, path] of [["btn-record", "start"], ["btn-record-stop", "stop"],
                            ["btn-record-pause", "pause"], ["btn-record-resume", "resume"]]) {
    $(id).addEventListener("click", () => command(`/console/recording/${path}`));
  }
  $("btn-cancel-transfer").addEventListener("click", () => command("/console/call/transfer/cancel"));
  $("transfer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    command("/console/call/transfer", {kind: $("transfer-kind").value,
      target: $("transfer-target").value.trim(), attended: $("transfer-attended").checked});
  });
  $("dial-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = {number: $("dial-number").value.trim()};
    command("/console/dial", body, "Your phone rings first; then the number is called.");
  });
  for (const button of document.querySelectorAll(".dispositions button")) {
    button.addEventListener("click", () => chooseDisposition(button.dataset.code));
  }
  $("notes").addEventListener("input", notesChanged);
  $("btn-save-wrap-up").addEventListener("click", saveWrapUp);
  $("btn-dismiss").addEventListener("click", () => command("/console/pop/dismiss"));

  CC.stream({
    agent: (payload) => {
      agent = payload.state === "logged_out" ? null : payload;
      renderAgent();
    },
    pop: newPop,
  }, (up) => document.body.classList.toggle("offline", !up));
  setInterval(tick, 1000);
  renderAgent();
  loadRecent();
})();
