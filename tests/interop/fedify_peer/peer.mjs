// A small Fedify server that the interoperability tests federate with.
//
//   node peer.mjs PORT        (or PEER_PORT=PORT node peer.mjs)
//
// Fedify 1.6 and later need Node.js 22 or newer; package.json brings one from the npm
// registry (node_modules/.bin/node), so run it as `node_modules/.bin/node peer.mjs PORT`.
//
// One actor, `carol` (a Person with an RSA key pair made at start), a personal
// inbox and a shared inbox (`/inbox`) whose listener records every activity
// Fedify accepted, NodeInfo 2.1, and control endpoints for the tests:
//
//   GET  /_received                 {"activities": [...], "inbox": [...], "sent": [...]}
//                                   `activities`: accepted by the inbox listener (Fedify verified
//                                   the signature); `inbox`: every POST to an inbox, its signature
//                                   scheme and key id, Fedify's answer and the body as received
//                                   (`activity`: its id, `json`: the parsed body); `sent`: every
//                                   outgoing request, its signature scheme, the answer and, for a
//                                   POST, the activity's id.
//   GET  /_lookup?uri=URI           carol fetches the object (a signed GET); answers it as JSON-LD
//   POST /_follow?handle=USER@HOST  carol looks the handle up (WebFinger, then a signed fetch)
//                                   and sends it a Follow (a person or a group: joining a
//                                   community); answers {"follow": ID, "actor": URI}
//   POST /_create?to=ACTOR_URI      carol sends a public Create{Note} mentioning the actor to
//                                   its inbox; the body (text) is the note's content;
//                                   answers {"create": ID, "note": ID}
//
// Both control POSTs take `sign=rfc9421` (the default) or `sign=draft-cavage`: the
// signature scheme Fedify tries first for a server it does not know yet (its
// `firstKnock`), for the lookups and for the delivery. Fedify falls back to the other
// scheme when a server refuses the first one with a 4xx, and remembers what worked per
// server: each scheme has its own Federation object (and memory) here.
//
// The test instances serve plain HTTP on loopback, but WebFinger lookups of
// `acct:` handles use HTTPS (RFC 7033 requires it): requests to the hosts in
// PEER_PLAIN_HTTP_HOSTS (comma-separated host:port, default: any 127.0.0.1 port)
// are sent over HTTP instead. PEER_LOG=debug prints Fedify's own log on stderr.
//
// NodeInfo names the software `fedify-peer` (unknown to fediverse-cop, hence a microblog
// server to it); PEER_SOFTWARE=NAME (e.g. `piefed`) makes the peer present itself as that
// software instead, so that a server sends it what it sends servers of that kind.

import http from "node:http";
import { randomUUID } from "node:crypto";
import { configure, getConsoleSink } from "@logtape/logtape";
import {
  Activity,
  Create,
  createFederation,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  isActor,
  MemoryKvStore,
  Mention,
  Note,
  parseSemVer,
  Person,
  PUBLIC_COLLECTION,
} from "@fedify/fedify";
import { Temporal } from "@js-temporal/polyfill";

const port = Number(process.argv[2] ?? process.env.PEER_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node peer.mjs PORT");
  process.exit(2);
}
const origin = `http://127.0.0.1:${port}`;
const ACTOR = "carol";
const SOFTWARE = process.env.PEER_SOFTWARE || "fedify-peer";
if (!/^[a-z0-9-]+$/.test(SOFTWARE)) {
  console.error(`PEER_SOFTWARE must match [a-z0-9-]+ (a NodeInfo software name): ${SOFTWARE}`);
  process.exit(2);
}

if (process.env.PEER_LOG) {
  await configure({
    sinks: { console: getConsoleSink({ console: { ...console, debug: console.error, info: console.error, log: console.error } }) },
    loggers: [
      { category: "fedify", lowestLevel: process.env.PEER_LOG, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

// -- plain HTTP for the test instances -------------------------------------------------

const plainHosts = (process.env.PEER_PLAIN_HTTP_HOSTS ?? "")
  .split(",")
  .map((host) => host.trim())
  .filter(Boolean);
const isPlain = (url) =>
  url.protocol === "https:" &&
  (plainHosts.length ? plainHosts.includes(url.host) : url.hostname === "127.0.0.1");
const sent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (isPlain(url)) url.protocol = "http:";
  const activity = request.method === "POST" ? activityId(await request.clone().text()) : null;
  const response = await realFetch(new Request(url, request));
  sent.push({
    method: request.method,
    url: url.href,
    activity,
    scheme: signatureScheme(request.headers),
    status: response.status,
  });
  return response;
};

// -- the federation -----------------------------------------------------------------------

const received = [];
const inboxRequests = [];
const notes = new Map();
const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

function makeFederation(firstKnock) {
  const federation = createFederation({
    kv: new MemoryKvStore(),
    allowPrivateAddress: true,
    firstKnock,
  });

  federation
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== ACTOR) return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Carol (Fedify)",
        summary: "An actor of the Fedify interoperability peer.",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        manuallyApprovesFollowers: false,
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((key) => key.multikey),
      });
    })
    .setKeyPairsDispatcher((_ctx, identifier) => (identifier === ACTOR ? [keyPair] : []));

  federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
    software: { name: SOFTWARE, version: parseSemVer("1.0.0") },
    protocols: ["activitypub"],
    usage: { users: { total: 1 }, localPosts: notes.size, localComments: 0 },
  }));

  federation.setObjectDispatcher(
    Note,
    "/notes/{id}",
    (_ctx, values) => notes.get(values.id) ?? null,
  );

  federation
    .setInboxListeners("/users/{identifier}/inbox", "/inbox")
    .on(Activity, async (ctx, activity) => {
      received.push({
        type: activity.constructor.name,
        id: activity.id?.href ?? null,
        actor: activity.actorId?.href ?? null,
        object: activity.objectId?.href ?? null,
        recipient: ctx.recipient ?? null,
        json: await activity.toJsonLd({ format: "compact" }),
      });
    })
    .onError((_ctx, error) => {
      console.error("inbox listener failed:", error);
    });

  return federation;
}

// `federation` serves every request; the other one only signs what it sends.
const federations = {
  rfc9421: makeFederation("rfc9421"),
  "draft-cavage": makeFederation("draft-cavage-http-signatures-12"),
};
const federation = federations.rfc9421;

// -- control endpoints --------------------------------------------------------------------

const json = (status, body) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });

async function lookupActor(ctx, identifier) {
  const documentLoader = await ctx.getDocumentLoader({ identifier: ACTOR });
  const actor = await ctx.lookupObject(identifier, { documentLoader });
  if (!isActor(actor)) throw new Error(`${identifier} is not an actor: ${actor}`);
  return actor;
}

async function lookup(ctx, uri) {
  const documentLoader = await ctx.getDocumentLoader({ identifier: ACTOR });
  const object = await ctx.lookupObject(uri, { documentLoader });
  if (object == null) throw new Error(`${uri} could not be fetched`);
  return await object.toJsonLd({ format: "compact" });
}

async function follow(ctx, handle) {
  const target = await lookupActor(ctx, handle);
  const id = new URL(`/follows/${randomUUID()}`, origin);
  await ctx.sendActivity(
    { identifier: ACTOR },
    target,
    new Follow({ id, actor: ctx.getActorUri(ACTOR), object: target.id }),
    { immediate: true },
  );
  return { follow: id.href, actor: target.id.href };
}

async function create(ctx, to, content) {
  const target = await lookupActor(ctx, to);
  const noteId = randomUUID();
  const published = Temporal.Now.instant();
  const mention = new Mention({ href: target.id, name: `@${target.preferredUsername}` });
  const note = new Note({
    id: ctx.getObjectUri(Note, { id: noteId }),
    attribution: ctx.getActorUri(ACTOR),
    content,
    to: PUBLIC_COLLECTION,
    cc: target.id,
    tags: [mention],
    published,
  });
  notes.set(noteId, note);
  const id = new URL(`/creates/${noteId}`, origin);
  await ctx.sendActivity(
    { identifier: ACTOR },
    target,
    new Create({
      id,
      actor: ctx.getActorUri(ACTOR),
      object: note,
      to: PUBLIC_COLLECTION,
      cc: target.id,
      published,
    }),
    { immediate: true },
  );
  return { create: id.href, note: note.id.href };
}

async function control(request) {
  const url = new URL(request.url);
  if (request.method === "GET" && url.pathname === "/_received") {
    return json(200, { activities: received, inbox: inboxRequests, sent });
  }
  const sign = url.searchParams.get("sign") ?? "rfc9421";
  if (!(sign in federations)) return json(400, { error: `unknown signature scheme: ${sign}` });
  const ctx = federations[sign].createContext(new URL(origin), undefined);
  if (request.method === "GET" && url.pathname === "/_lookup") {
    return json(200, await lookup(ctx, url.searchParams.get("uri")));
  }
  if (request.method === "POST" && url.pathname === "/_follow") {
    return json(200, await follow(ctx, url.searchParams.get("handle")));
  }
  if (request.method === "POST" && url.pathname === "/_create") {
    const text = (await request.text()) || "Hello from Fedify";
    return json(200, await create(ctx, url.searchParams.get("to"), text));
  }
  return null;
}

// -- Node's http server, adapted to fetch-style Request and Response ------------------------

function parsed(body) {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

function activityId(body) {
  return parsed(body)?.id ?? null;
}

function signatureScheme(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "draft-cavage";
  return null;
}

// The key a request names: `keyid` of Signature-Input (RFC 9421) or `keyId` of Signature.
function signatureKeyId(headers) {
  const header = headers.get("signature-input") ?? headers.get("signature") ?? "";
  return /keyid="([^"]*)"/i.exec(header)?.[1] ?? null;
}

async function handle(request) {
  if (new URL(request.url).pathname.startsWith("/_")) {
    try {
      return (await control(request)) ?? json(404, { error: "no such control endpoint" });
    } catch (error) {
      console.error("control endpoint failed:", error);
      return json(500, { error: String(error?.stack ?? error) });
    }
  }
  const isInbox = request.method === "POST" && /(^|\/)inbox$/.test(new URL(request.url).pathname);
  const body = isInbox ? parsed(await request.clone().text()) : null;
  const response = await federation.fetch(request, {
    contextData: undefined,
    onNotFound: () => new Response("Not Found", { status: 404 }),
    onNotAcceptable: () => new Response("Not Acceptable", { status: 406 }),
  });
  if (isInbox) {
    inboxRequests.push({
      path: new URL(request.url).pathname,
      scheme: signatureScheme(request.headers),
      keyId: signatureKeyId(request.headers),
      status: response.status,
      activity: body?.id ?? null,
      json: body,
    });
  }
  return response;
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const request = new Request(new URL(req.url, origin), { method: req.method, headers, body });
    const response = await handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error("request failed:", error);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ listening: origin }));
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
