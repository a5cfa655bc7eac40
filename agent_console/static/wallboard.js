// The supervisors' wallboard: queues and agents as the server pushes them,
// times ticking between pushes, alerts, and the supervisor's commands.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const {el, post, now, duration, percent, clear} = CC;
  const ON_A_CALL = ["on_call", "on_hold"];
  let board = null;
  const agents = new Map();  // agent -> latest row (board rows, then acd.agent events)

  function say(text, bad) {
    $("message").textContent = text || "";
    $("message").className = bad ? "error" : "ok";
  }

  async function command(path, body, okText) {
    const result = await post(path, body);
    say(result.ok ? okText : result.message, !result.ok);
    return result;
  }

  function renderQueues() {
    const body = $("queues").tBodies[0];
    clear(body);
    const elapsed = Math.max(0, now() - (board.at || now()));
    for (const q of board.queues) {
      const longest = q.waiting ? q.longest_wait + elapsed : 0;
      body.append(el("tr", {class: q.alerting ? "alerting" : "", "data-queue": q.queue},
        el("th", {scope: "row"}, q.queue), el("td", {class: "waiting"}, q.waiting),
        el("td", {class: "longest"}, q.waiting ? duration(longest) : "—"),
        el("td", {class: q.alerting ? "bad sl" : "sl"},
          `${percent(q.service_level)} (${percent(q.service_level_day)})`),
        el("td", {}, `${percent(q.sl_target)} in ${q.sl_seconds ?? "—"} s`),
        el("td", {}, q.asa === null ? "—" : `${q.asa.toFixed(1)} s`),
        el("td", {}, `${q.abandoned} (${percent(q.abandon_rate)})`),
        el("td", {}, `${q.offered} (${q.offered_day})`),
        el("td", {}, `${q.answered} (${q.answered_day})`),
        el("td", {}, `${q.staffed} / ${q.ready}`), el("td", {}, q.callbacks_waiting)));
    }
    const alerts = $("alerts");
    clear(alerts);
    for (const text of board.alerts) alerts.append(el("p", {class: "alert", role: "alert"}, text));
    $("board-at").textContent = board.at ? `as of ${new Date(board.at * 1000).toLocaleTimeString()}` : "";
    const counts = Object.entries(board.counts || {}).filter(([, n]) => n)
      .map(([state, n]) => `${n} ${state.replace("_", " ")}`).join(", ");
    $("agent-counts").textContent = counts ? `(${counts})` : "";
  }

  function monitorButtons(row) {
    const live = ON_A_CALL.includes(row.state);
    return ["listen", "whisper", "barge"].map((mode) => el("button", {type: "button",
      disabled: !live, "data-mode": mode, onclick: () => monitor(row.agent, mode)}, mode));
  }

  function renderAgents() {
    const body = $("agents").tBodies[0];
    clear(body);
    const rows = [...agents.values()].sort((a, b) => a.agent.localeCompare(b.agent));
    for (const row of rows) {
      body.append(el("tr", {"data-agent": row.agent},
        el("th", {scope: "row"}, row.agent), el("td", {}, row.seat),
        el("td", {class: `state state-${row.state}`},
          row.state.replace("_", " ") + (row.reason ? ` (${row.reason})` : "") +
          (row.presence === "pending_logout" ? " — leaving" : "")),
        el("td", {class: "in-state", "data-since": row.since}, duration(now() - row.since)),
        el("td", {}, row.call_id ? `${row.caller || ""} ${row.queue ? "· " + row.queue : ""}` : "—"),
        el("td", {}, el("div", {class: "row"}, monitorButtons(row))),
        el("td", {}, el("div", {class: "row"},
          el("button", {type: "button", onclick: () => command("/wallboard/agents/not-ready",
            {agent: row.agent, reason: $("force-reason").value}, `${row.agent} set not ready.`)}, "not ready"),
          el("button", {type: "button", onclick: () => command("/wallboard/agents/logout",
            {agent: row.agent}, `${row.agent} logged out.`)}, "log out")))));
    }
  }

  function tick() {
    for (const cell of document.querySelectorAll("td.in-state")) {
      cell.textContent = duration(now() - Number(cell.dataset.since));
    }
    if (board) {
      const elapsed = Math.max(0, now() - (board.at || now()));
      for (const q of board.queues) {
        const cell = document.querySelector(`tr[data-queue="${CSS.escape(q.queue)}"] td.longest`);
        if (cell && q.waiting) cell.textContent = duration(q.longest_wait + elapsed);
      }
    }
  }

  async function monitor(agent, mode) {
    const seat = $("monitor-seat").value.trim();
    if (!seat) { say("Enter your phone's seat first.", true); $("monitor-seat").focus(); return; }
    localStorage.setItem("monitor-seat", seat);
    await command("/wallboard/monitor", {agent, seat, mode}, `Your phone rings: ${mode} ${agent}.`);
  }

  $("monitor-seat").value = localStorage.getItem("monitor-seat") || "";
  $("monitor-form").addEventListener("submit", (e) => e.preventDefault());
  $("btn-monitor-stop").addEventListener("click", () =>
    command("/wallboard/monitor/stop", {}, "Stopped."));

  CC.stream({
    board: (payload) => {
      board = payload;
      agents.clear();
      for (const row of payload.agents) agents.set(row.agent, row);
      renderQueues();
      renderAgents();
    },
    agent: (payload) => {  // between two boards: this agent's state at once
      if (payload.state === "logged_out") agents.delete(payload.agent);
      else agents.set(payload.agent, {...(agents.get(payload.agent) || {}), ...payload});
      renderAgents();
    },
    notice: (payload) => {  // e.g. a recording that could not be stored
      const when = new Date(payload.at * 1000).toLocaleTimeString();
      $("notices").prepend(el("p", {class: "alert", role: "alert"}, `${when}: ${payload.message}`));
      while ($("notices").children.length > 10) $("notices").lastChild.remove();
    },
    monitor: (payload) => {
      const on = payload.state !== "ended";
      $("monitor-status").textContent = on ? `${payload.state}: ${payload.mode} ${payload.agent}` : "";
      $("btn-monitor-stop").classList.toggle("hidden", !on);
    },
  });
  setInterval(tick, 1000);
})();
