// Pure helpers of the replay page: instants in links, and what of a timeline lies before t.
// Every layer of the page is a function of the media clock t (bbb-playback's model).

// "12m30s", "1h2m3.5s", "750", "750.5", "1:02:03" -> seconds; null when it is none of those.
export function parseInstant(text) {
  if (text === null || text === undefined) return null;
  const value = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const units = value.match(/^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/);
  if (units && value !== "") return Number(units[1] || 0) * 3600 + Number(units[2] || 0) * 60 + Number(units[3] || 0);
  const clock = value.match(/^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$/);
  if (clock) return Number(clock[1] || 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  return null;
}

// Seconds -> "12m30s" (tenths kept when there are some), the form links carry.
export function formatInstant(seconds) {
  const tenths = Math.max(0, Math.round(seconds * 10));
  const h = Math.floor(tenths / 36000), m = Math.floor((tenths % 36000) / 600), s = (tenths % 600) / 10;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

// The fragment of a link to recording id at t, keeping the other parameters of current.
export function fragmentFor(current, recordingId, t) {
  const params = new URLSearchParams(current.replace(/^#/, ""));
  params.delete("token");
  params.set("recording", recordingId);
  if (t === null || t === undefined) params.delete("t"); else params.set("t", formatInstant(t));
  return `#${params.toString()}`;
}

// How many of the events (sorted by t) happened at or before t: a binary search.
export function countUpTo(events, t) {
  let low = 0, high = events.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (events[middle].t <= t) low = middle + 1; else high = middle;
  }
  return low;
}

// The chapter being played at t (the last one starting at or before it), or -1.
export function chapterAt(chapters, t) {
  let found = -1;
  chapters.forEach((chapter, index) => { if (chapter.at_s <= t + 1e-6) found = index; });
  return found;
}

// While playing, the line's state is fetched on a grid of the media clock, so a replayed
// stretch asks again only when a new grid step is reached.
export const STATE_STEP_S = 0.5;
export function stateKey(t) {
  return Math.floor(t / STATE_STEP_S) * STATE_STEP_S;
}
