/**
 * The Lua scripts behind RedisDeduplicator: each call is one atomic EVALSHA (ioredis
 * `defineCommand` falls back to EVAL on NOSCRIPT), whatever the number of ids.
 *
 * Values of a seen-key:
 *   `p|<claim token>|<source>`  pending: claimed by one `claim` call, output not committed yet;
 *                               <source> names the record (topic/partition/offset) or is empty.
 *   `c|<claim token>`           confirmed: an output for this id was committed; skip it.
 * Claim tokens are hex, so the first `|` after `p|` ends the token.
 */
import type { Redis } from "ioredis";

/** Claim outcome codes returned by the claim script, one per key. */
export const CLAIM_NEW = 1;
export const CLAIM_SEEN = 0;
export const CLAIM_IN_FLIGHT = 2;
export const CLAIM_RETAKEN = 3;

/**
 * KEYS: the id keys. ARGV[1]: claim token, ARGV[2]: pending TTL (s), ARGV[2 + i]: source of KEYS[i]
 * ("" when unknown). Per key: absent -> pending, 1 (new); confirmed -> 0 (seen); pending under this
 * token -> 0 (a repeat inside this call); pending under another claim -> 2 (in flight elsewhere)
 * when both sources are known and differ, else taken over -> 3 (a redelivery of a record whose
 * earlier claim never finished: it must be tagged, never skipped).
 */
const CLAIM_LUA = `
local token = ARGV[1]
local ttl = ARGV[2]
local out = {}
for i, key in ipairs(KEYS) do
  local source = ARGV[i + 2] or ''
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, 'p|' .. token .. '|' .. source, 'EX', ttl)
    out[i] = 1
  elseif string.sub(v, 1, 2) ~= 'p|' then
    out[i] = 0
  else
    local sep = string.find(v, '|', 3, true) or (#v + 1)
    local holder = string.sub(v, 3, sep - 1)
    local held = string.sub(v, sep + 1)
    if holder == token then
      out[i] = 0
    elseif source ~= '' and held ~= '' and held ~= source then
      out[i] = 2
    else
      redis.call('SET', key, 'p|' .. token .. '|' .. source, 'EX', ttl)
      out[i] = 3
    end
  end
end
return out
`;

/**
 * KEYS: id keys whose outputs were committed. ARGV[1]: full TTL (s), ARGV[1 + i]: the token that
 * claimed KEYS[i]. Sets every key confirmed with the full TTL (the output exists, whoever holds the
 * key now); returns how many were still pending under their own token (the rest had expired or
 * been taken over: a possible double tag, worth a metric).
 */
const CONFIRM_LUA = `
local ttl = ARGV[1]
local held = 0
for i, key in ipairs(KEYS) do
  local token = ARGV[i + 1]
  local v = redis.call('GET', key)
  if v and string.sub(v, 1, #token + 3) == 'p|' .. token .. '|' then
    held = held + 1
  end
  redis.call('SET', key, 'c|' .. token, 'EX', ttl)
end
return held
`;

/**
 * KEYS: id keys whose work was abandoned. ARGV[i]: the token that claimed KEYS[i]. Compare and
 * delete: only keys still pending under that token go, so a later owner is not disturbed. Returns
 * the number deleted.
 */
const RELEASE_LUA = `
local deleted = 0
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if v and string.sub(v, 1, #ARGV[i] + 3) == 'p|' .. ARGV[i] .. '|' then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return deleted
`;

/** The client with the dedup commands defined; the first argument is the number of keys. */
export interface DedupCommands {
  swDedupClaim(numKeys: number, ...args: string[]): Promise<number[]>;
  swDedupConfirm(numKeys: number, ...args: string[]): Promise<number>;
  swDedupRelease(numKeys: number, ...args: string[]): Promise<number>;
}

/** Defines the scripts on `redis` (idempotent) and returns it typed with them. */
export function defineDedupCommands(redis: Redis): Redis & DedupCommands {
  redis.defineCommand("swDedupClaim", { lua: CLAIM_LUA });
  redis.defineCommand("swDedupConfirm", { lua: CONFIRM_LUA });
  redis.defineCommand("swDedupRelease", { lua: RELEASE_LUA });
  return redis as Redis & DedupCommands;
}
