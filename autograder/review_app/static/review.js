// The review pages' keyboard and decisions. Every decision is a POST; the page reloads only
// after the server says it was saved, and shows the server's message when it was refused.
(() => {
  "use strict";
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const answers = () => $$("article.answer");
  const reviewer = document.getElementById("reviewer");
  const message = document.getElementById("message");
  let current = null;

  reviewer.value = localStorage.getItem("autograder-reviewer") || "";
  reviewer.addEventListener("change", () => localStorage.setItem("autograder-reviewer", reviewer.value.trim()));

  function showNames(on) {
    document.body.classList.toggle("show-names", on);
    localStorage.setItem("autograder-names", on ? "1" : "");
    document.getElementById("toggle-names").textContent = on ? "Hide names" : "Show names";
  }
  showNames(Boolean(localStorage.getItem("autograder-names")));

  function say(text, kind) {
    message.textContent = text;
    message.className = kind || "error";
    message.hidden = !text;
  }

  function focusOn(article) {
    if (!article) return;
    if (current) current.classList.remove("current");
    current = article;
    article.classList.add("current");
    article.focus({ preventScroll: true });
    article.scrollIntoView({ block: "nearest" });
    history.replaceState(null, "", "#" + encodeURIComponent(article.id));
  }

  function move(step) {
    const all = answers();
    if (!all.length) return;
    const at = all.indexOf(current);
    focusOn(all[Math.min(all.length - 1, Math.max(0, at < 0 ? 0 : at + step))]);
  }

  function undoStack() { return JSON.parse(sessionStorage.getItem("autograder-undo") || "[]"); }
  function setUndoStack(stack) { sessionStorage.setItem("autograder-undo", JSON.stringify(stack.slice(-50))); }

  async function post(url, body, remember) {
    say("saving…", "info");
    let response, data;
    try {
      response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      data = await response.json();
    } catch (err) {
      say("Not saved: the server did not answer (" + err + "). Is `autograder review --serve` still running?");
      return;
    }
    if (!response.ok || !data.ok) { say("Not saved: " + (data && data.error || response.status)); return; }
    if (remember) {
      const stack = undoStack();
      for (const [key, version] of Object.entries(data.versions)) stack.push({ key, version });
      setUndoStack(stack);
    }
    sessionStorage.setItem("autograder-saved", "Saved " + Object.keys(data.versions).length + " decision(s).");
    location.reload();
  }

  function comment(article) {
    const own = article.querySelector("input.comment");
    return own ? own.value.trim() : "";
  }

  function decision(article, fields) {
    return Object.assign({ key: article.dataset.key, version: article.dataset.version, comment: comment(article),
      reviewer: reviewer.value.trim() }, fields);
  }

  function decide(list) { if (list.length) post("/api/decisions", { decisions: list }, true); }

  function accept(article) { decide([decision(article, { accept: true })]); }

  function setPoints(article, value) {
    const points = Number(value);
    const max = Number(article.dataset.max);
    if (value === "" || Number.isNaN(points) || points < 0 || points > max) {
      say("Points must be a number from 0 to " + max + "."); return;
    }
    decide([decision(article, { points })]);
  }

  function toggleConcept(article, index) {
    const ids = JSON.parse(article.dataset.concepts);
    if (index >= ids.length) return;
    const points = JSON.parse(article.dataset.conceptPoints);
    const max = JSON.parse(article.dataset.conceptMax);
    decide([decision(article, { concepts: { [ids[index]]: points[index] > 0 ? 0 : max[index] } })]);
  }

  function members(section) {
    // An answer sits in several groups: decide each once, from the group being decided.
    const seen = new Set();
    return $$("article.answer", section).filter((a) => {
      const box = a.querySelector("input.in-group");
      if ((box && !box.checked) || seen.has(a.dataset.key)) return false;
      seen.add(a.dataset.key);
      return true;
    });
  }

  function groupDecision(section, kind) {
    const groupComment = section.querySelector("input.group-comment");
    const text = groupComment ? groupComment.value.trim() : "";
    const concept = section.dataset.concept;
    const list = members(section).map((a) => {
      const fields = kind === "accept" ? { accept: true } : (() => {
        const ids = JSON.parse(a.dataset.concepts);
        const at = ids.indexOf(concept);
        const max = JSON.parse(a.dataset.conceptMax)[at];
        return { concepts: { [concept]: kind === "give" ? max : 0 } };
      })();
      const d = decision(a, fields);
      if (text) d.comment = text;
      return d;
    });
    if (!list.length) { say("No answer of this group is checked."); return; }
    decide(list);
  }

  function undo() {
    const stack = undoStack();
    const last = stack.pop();
    if (!last) { say("Nothing to undo from this tab.", "info"); return; }
    setUndoStack(stack);
    post("/api/undo", last, false);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const article = button.closest("article.answer");
    const section = button.closest("section.group");
    if (article) focusOn(article);
    if (button.classList.contains("accept")) accept(article);
    else if (button.classList.contains("set-points")) setPoints(article, article.querySelector("input.points-input").value);
    else if (button.classList.contains("group-accept")) groupDecision(section, "accept");
    else if (button.classList.contains("group-give")) groupDecision(section, "give");
    else if (button.classList.contains("group-take")) groupDecision(section, "take");
    else if (button.classList.contains("apply-learned")) post("/api/apply-learned", { tag: button.dataset.tag }, false);
    else if (button.id === "toggle-names") showNames(!document.body.classList.contains("show-names"));
    else if (button.id === "undo") undo();
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.matches("input, textarea");
    if (typing) {
      if (event.key === "Enter" && event.target.classList.contains("points-input")) {
        setPoints(event.target.closest("article.answer"), event.target.value);
      } else if (event.key === "Escape") {
        event.target.blur();
        if (current) current.focus({ preventScroll: true });
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const section = current && current.closest("section.group");
    const keys = {
      j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1),
      a: () => current && accept(current),
      A: () => section && groupDecision(section, "accept"),
      G: () => section && section.dataset.concept !== "none" && groupDecision(section, "give"),
      X: () => section && section.dataset.concept !== "none" && groupDecision(section, "take"),
      "0": () => current && decide([decision(current, { points: 0 })]),
      p: () => current && current.querySelector("input.points-input").select(),
      c: () => current && current.querySelector("input.comment").focus(),
      u: undo,
      n: () => showNames(!document.body.classList.contains("show-names")),
    };
    let action = keys[event.key];
    if (!action && /^[1-9]$/.test(event.key) && current) action = () => toggleConcept(current, Number(event.key) - 1);
    if (action) { event.preventDefault(); action(); }
  });

  const saved = sessionStorage.getItem("autograder-saved");
  if (saved) { sessionStorage.removeItem("autograder-saved"); say(saved, "info"); }
  const wanted = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  focusOn(wanted || answers().find((a) => !a.classList.contains("reviewed")) || answers()[0]);
})();
