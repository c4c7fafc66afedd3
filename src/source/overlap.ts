/**
 * How far back every window that hands changes from one reader to the next reaches: the poller's
 * re-read before its cursor, a reconcile after a replay gap, a GAP_OVERFLOW or a switch from polling to
 * CDC, and the catch-up when a stream starts at -1 (new events only).
 *
 * A position is a commit time (a change event's commitTimestamp), a SystemModstamp or our own clock, and
 * the rows a window reads are found by SystemModstamp. Three things put a row that the window must see
 * before its start:
 * - SystemModstamp is set when the transaction starts and the change commits later, so a transaction that
 *   ran for a while commits rows stamped before changes that were already read or streamed;
 * - stamps are whole seconds, so a row can share the second of the position and still be new;
 * - our clock and Salesforce's disagree a little.
 * The margin bounds all three. What it re-reads is recognised (record memory, same-second versions,
 * deterministic ids); a transaction that runs longer than the margin is the one case it does not cover.
 */
export const OVERLAP_MARGIN_MS = 60_000;
