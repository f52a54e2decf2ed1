// The chat example in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
// both installed by scripts/setup): pages on the chat's own page, which loads the unmodified
// socket.io-client browser bundle. Alice and Bob join one room, Carol another; Alice's message
// shows on Alice's and Bob's pages and not on Carol's. Usage: node chat-browser.js <url>
"use strict";

const { chromium } = require("playwright-core");

const url = process.argv[2];
const WAIT = 10000; // each wait for the page; the Rust test gives the whole script 60 s

let browser = null;
const pageErrors = [];

async function fail(msg) {
  console.log("FAIL " + msg);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}

// Fails the script rather than letting the Rust test's timeout kill it (and leave a browser).
const watchdog = setTimeout(() => fail("the script took more than 50 s"), 50000);

async function open(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (e) => pageErrors.push(name + ": " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error") console.log(name + " console: " + m.text());
  });
  await page.goto(url);
  await page.locator('#status[data-state="connected"]').waitFor();
  // What the server sends this page, beyond what the page chooses to show.
  await page.evaluate(() => {
    window.received = [];
    socket.onAny((event, data) => window.received.push({ event, room: data && data.room }));
  });
  return page;
}

// Exactly `text` (the whole of the element's text).
function exactly(text) {
  return new RegExp("^" + text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$");
}

async function setNick(page, nick) {
  await page.fill("#nick", nick);
  await page.click("#nick-btn");
}

async function join(page, nick, room) {
  await setNick(page, nick);
  await page.locator("#me", { hasText: exactly(nick) }).waitFor();
  await page.fill("#room", room);
  await page.click("#join-btn");
  await page.locator("#current-room", { hasText: exactly(room) }).waitFor();
  await member(page, nick).waitFor();
}

function member(page, nick) {
  return page.locator("#members li", { hasText: exactly(nick) });
}

function line(page, kind, text) {
  return page.locator("#messages li." + kind, { hasText: text });
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

async function main() {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });

  const alice = await open("alice");
  await join(alice, "alice", "lobby");
  await line(alice, "notice", "alice joined").waitFor();
  console.log("ok alice has a nickname and is in lobby");

  const bob = await open("bob");
  await setNick(bob, "Alice");
  await bob.locator("#error", { hasText: "taken" }).waitFor();
  await join(bob, "bob", "lobby");
  await member(bob, "alice").waitFor();
  await member(alice, "bob").waitFor();
  await line(alice, "notice", "bob joined").waitFor();
  console.log("ok bob cannot take alice's nickname, joins lobby; both see both members");

  const carol = await open("carol");
  await join(carol, "carol", "elsewhere");
  console.log("ok carol is in another room");

  await say(alice, "   ");
  await alice.locator("#error", { hasText: "empty" }).waitFor();
  await say(alice, "hello from alice");
  for (const [name, page] of [["bob", bob], ["alice", alice]]) {
    const got = line(page, "message", "hello from alice");
    await got.waitFor();
    const from = await got.locator(".from").textContent();
    if (from !== "alice:") await fail(name + " shows the message from " + JSON.stringify(from));
  }
  // The input empties once the server acked the message.
  await alice.waitForFunction(() => document.getElementById("text").value === "");
  console.log("ok alice's message shows on bob's page and on her own");

  // Carol's own message comes after any of lobby's would have on her connection.
  await say(carol, "only for elsewhere");
  await line(carol, "message", "only for elsewhere").waitFor();
  if ((await line(carol, "message", "hello from alice").count()) !== 0) {
    await fail("carol, in another room, shows alice's message");
  }
  const leaked = await carol.evaluate(() => window.received.filter((r) => r.room !== "elsewhere"));
  if (leaked.length) await fail("the server sent carol another room's events: " + JSON.stringify(leaked));
  for (const [name, page] of [["alice", alice], ["bob", bob]]) {
    if ((await line(page, "message", "only for elsewhere").count()) !== 0) {
      await fail(name + " shows carol's message from another room");
    }
  }
  console.log("ok a page in another room shows none of lobby's messages, nor lobby its");

  await bob.context().close();
  await line(alice, "notice", "bob left").waitFor();
  await member(alice, "bob").waitFor({ state: "detached" });
  console.log("ok bob's page closes: alice sees him leave");

  if (pageErrors.length) await fail("page errors: " + pageErrors.join("; "));
  clearTimeout(watchdog);
  await browser.close();
  console.log("all ok");
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
