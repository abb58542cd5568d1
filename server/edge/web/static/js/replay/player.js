// The media clock of the replay page: the <video> element is the clock; the teacher's audio,
// when it is a file of its own, plays in an <audio> element slaved to it (started, paused,
// seeked and sped up with it; drift corrected by nudging its rate, or by a jump past a limit).
// A track muxed into the video's file (muxed_with) plays from the video element itself.

export const DRIFT_NUDGE_S = 0.04;   // below this, audio plays at the video's rate
export const DRIFT_JUMP_S = 0.3;     // above this, audio jumps to the video's time
const NUDGE_GAIN = 0.5;              // rate correction per second of drift
const NUDGE_LIMIT = 0.05;            // never more than 5 % off the video's rate
const CHECK_MS = 250;

// Which tracks to play: {clock, audio}. clock: the teacher's video (else any video, else an
// audio track); audio: a separate audio file to slave, or null.
export function chooseTracks(tracks) {
  const teacherFirst = list => [...list.filter(t => t.name.startsWith("teacher")),
    ...list.filter(t => !t.name.startsWith("teacher"))];
  const videos = teacherFirst(tracks.filter(t => t.kind === "video"));
  const audios = teacherFirst(tracks.filter(t => t.kind === "audio"));
  const clock = videos[0] || audios[0] || null;
  if (!clock || clock.kind === "audio") return {clock, audio: null};
  const prefix = clock.name.split("/")[0];
  const audio = audios.find(t => t.name.startsWith(`${prefix}/`)) || null;
  if (!audio || audio.muxed_with === clock.name) return {clock, audio: null};
  return {clock, audio};
}

// Slaves audio to video; returns a function that detaches it.
export function slave(video, audio) {
  video.muted = true;  // the video's own sound (if any) would double the slave's
  const follow = () => {
    audio.playbackRate = video.playbackRate;
    if (Math.abs(audio.currentTime - video.currentTime) > DRIFT_NUDGE_S) audio.currentTime = video.currentTime;
  };
  const play = () => { follow(); audio.play().catch(() => { /* autoplay refused: video plays on, muted */ }); };
  const pause = () => audio.pause();
  const correct = () => {
    if (video.paused || video.seeking || audio.seeking) return;
    const drift = audio.currentTime - video.currentTime;
    audio.dataset.drift = drift.toFixed(3);
    if (Math.abs(drift) > DRIFT_JUMP_S) { audio.currentTime = video.currentTime; return; }
    const nudge = Math.abs(drift) < DRIFT_NUDGE_S ? 0 : Math.max(-NUDGE_LIMIT, Math.min(NUDGE_LIMIT, -drift * NUDGE_GAIN));
    audio.playbackRate = video.playbackRate * (1 + nudge);
    if (audio.paused && !video.paused) play();
  };
  const listeners = {play: play, playing: play, pause, waiting: pause, seeking: follow, seeked: follow,
    ratechange: () => { audio.playbackRate = video.playbackRate; }, ended: pause};
  for (const [name, listener] of Object.entries(listeners)) video.addEventListener(name, listener);
  const timer = setInterval(correct, CHECK_MS);
  return () => {
    clearInterval(timer);
    for (const [name, listener] of Object.entries(listeners)) video.removeEventListener(name, listener);
    audio.pause();
  };
}
