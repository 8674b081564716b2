// The new-password form: checks that both fields are filled in, that the password's length
// is within the dialect's rule, and that they match; sends the password to the dialect's own
// API call on this origin, and says what happened in plain words, in the page's language:
// every sentence comes from the page's JSON block (#reset-messages), written by its
// template. The server is the authority on password rules: its reason is shown as it gives
// it.
"use strict";

(() => {
  const form = document.getElementById("reset-form");
  if (!form) {
    return;
  }
  const password = document.getElementById("password");
  const confirmation = document.getElementById("confirm");
  const show = document.getElementById("show");
  const button = form.querySelector("button[type=submit]");
  const status = document.getElementById("status");

  const MESSAGES = JSON.parse(document.getElementById("reset-messages").textContent);

  // The server's reason, as a sentence after ours.
  const rejected = (reason) => {
    const text = typeof reason === "string" ? reason.trim() : "";
    if (text === "") {
      return { text: MESSAGES.rejected_no_reason, field: password };
    }
    const sentence = text.charAt(0).toUpperCase() + text.slice(1);
    return {
      text: MESSAGES.rejected + " " + sentence + (/[.!?]$/.test(sentence) ? "" : "."),
      field: password,
    };
  };

  // How each dialect's call is made and how its answer reads. URLs are relative to this
  // page, so a public base URL with a path prefix keeps working behind a proxy.
  const DIALECTS = {
    cloudreve: {
      // PATCH /user/reset/{user_id} {password, secret}; every answer is HTTP 200 with
      // {code, msg}, code 0 meaning success.
      call: (link, newPassword) => ({
        url: "../user/reset/" + encodeURIComponent(link.userId),
        method: "PATCH",
        body: { password: newPassword, secret: link.secret },
      }),
      outcome: (httpStatus, body) => {
        switch (body && body.code) {
          case 0:
            return httpStatus === 200 ? { ok: true } : null;
          case 40001:
            return rejected(body.msg);
          case 40030:
            return { text: MESSAGES.expired, final: true };
          case 40017:
          case 40018:
            return { text: MESSAGES.account, final: true };
          case 40099:
            return { text: MESSAGES.unavailable, final: true };
          case 42900:
            return { text: MESSAGES.throttled };
          default:
            return null;
        }
      },
    },
    selfcommunity: {
      // POST /api/v2/account/reset/ {validation_code, password}; 200 with a token, or an
      // error status with {detail, code}.
      call: (link, newPassword) => ({
        url: "../../api/v2/account/reset/",
        method: "POST",
        body: { validation_code: link.validationCode, password: newPassword },
      }),
      outcome: (httpStatus, body) => {
        if (httpStatus === 200 && body && body.token) {
          return { ok: true };
        }
        switch (body && body.code) {
          case "password_too_weak":
            return rejected(body.detail);
          case "invalid_code":
            return { text: MESSAGES.expired, final: true };
          case "invalid":
            return { text: MESSAGES.account, final: true };
          case "not_available":
            return { text: MESSAGES.unavailable, final: true };
          case "throttled":
            return { text: MESSAGES.throttled };
          default:
            return null;
        }
      },
    },
  };

  const dialect = DIALECTS[form.dataset.dialect];
  // The dialect's length rule, from the server: its API refuses other lengths before its
  // password policy is asked, in words meant for programs.
  const minChars = Number(form.dataset.minChars) || 1;
  const maxChars = Number(form.dataset.maxChars) || Infinity;

  const say = (kind, text) => {
    status.className = "status status-" + kind;
    status.textContent = text;
  };

  // Hides the form, and forgets what was typed in it.
  const putAway = () => {
    password.value = "";
    confirmation.value = "";
    form.hidden = true;
    document.getElementById("rules").hidden = true;
  };

  const clearInvalid = () => {
    password.removeAttribute("aria-invalid");
    confirmation.removeAttribute("aria-invalid");
  };

  const fail = (text, field) => {
    say("error", text);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  };

  show.addEventListener("change", () => {
    const type = show.checked ? "text" : "password";
    password.type = type;
    confirmation.type = type;
  });

  const send = async (newPassword) => {
    const call = dialect.call(form.dataset, newPassword);
    let response;
    try {
      response = await fetch(call.url, {
        method: call.method,
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(call.body),
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
      });
    } catch {
      return { text: MESSAGES.network };
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const outcome = dialect.outcome(response.status, body);
    if (outcome) {
      return outcome;
    }
    return { text: response.status === 429 ? MESSAGES.throttled : MESSAGES.server };
  };

  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || !dialect) {
      return;
    }
    clearInvalid();
    if (password.value === "") {
      fail(MESSAGES.empty, password);
      return;
    }
    // Counted in code points, as the server counts.
    const length = Array.from(password.value).length;
    if (length < minChars) {
      fail(MESSAGES.too_short, password);
      return;
    }
    if (length > maxChars) {
      fail(MESSAGES.too_long, password);
      return;
    }
    if (confirmation.value !== password.value) {
      fail(MESSAGES.mismatch, confirmation);
      return;
    }
    busy = true;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    say("pending", MESSAGES.pending);
    const outcome = await send(password.value);
    busy = false;
    button.disabled = false;
    form.removeAttribute("aria-busy");
    if (outcome.ok) {
      putAway();
      const heading = document.querySelector("h1");
      document.title = document.title.replace(heading.textContent, MESSAGES.done_heading);
      heading.textContent = MESSAGES.done_heading;
      say("success", MESSAGES.success);
      status.focus();
      return;
    }
    if (outcome.final) {
      // Nothing more this link can do: only the way forward is left on the page.
      putAway();
      say("error", outcome.text);
      status.focus();
      return;
    }
    fail(outcome.text, outcome.field);
  });
})();
