#!/usr/bin/python3
"""Independent label checks for `mert synth` output (numpy only; audio rendered with --wav).

Each check re-derives the label from the rendered audio with plain signal processing and
fails (exit 1) if too few items agree:
  pitch  - harmonic-sum f0 estimate of the note == examples.json `pitch`
  key    - the labelled tonic triad has the largest energy of the 24 major/minor triads in the
           file's pitch-class profile
  chords - per .lab segment, chroma template matching finds the labelled root
  beat   - spectral-flux onsets line up with labelled beats (and much less with off-beat
           positions); low-band onsets on labelled downbeats; .bpm matches the beat spacing
  tags   - annotations_final.csv agrees with metadata.csv; 'drums' tag predicted by high-band flux
  stems  - mixture == drums + bass + vocals + other (within 16-bit rounding), every stem sounds
  corpus - manifests list every file with its exact sample count
usage: check_labels.py <task> <dir>
"""
import csv, json, os, sys, wave
import numpy as np


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return x, sr


def stft_mag(x, n_fft, hop):
    win = np.hanning(n_fft)
    n = 1 + max(0, (len(x) - n_fft) // hop)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    return np.abs(np.fft.rfft(x[idx] * win, axis=1))


def chroma(x, sr, n_fft=8192, hop=2048, fmin=55.0, fmax=2000.0):
    S = stft_mag(x, n_fft, hop) if len(x) >= n_fft else np.abs(np.fft.rfft(np.pad(x, (0, n_fft - len(x))) * np.hanning(n_fft)))[None]
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    sel = (f >= fmin) & (f <= fmax)
    pc = np.mod(np.round(12 * np.log2(f[sel] / 440.0)) + 9, 12).astype(int)
    C = np.zeros((S.shape[0], 12))
    for p in range(12):
        C[:, p] = (S[:, sel][:, pc == p] ** 2).sum(axis=1)
    return C


NAMES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8,
         "A": 9, "A#": 10, "Bb": 10, "B": 11}


def report(name, ok, total, need):
    rate = ok / max(total, 1)
    print(f"{name}: {ok}/{total} = {rate:.3f} (need >= {need})")
    return rate >= need


def split_items(d, ext):
    for split in ("train", "valid", "test"):
        sd = os.path.join(d, split)
        for f in sorted(os.listdir(sd)):
            if f.endswith(ext):
                yield split, os.path.join(sd, f[: -len(ext)])


def check_pitch(d):
    ok = pc_ok = total = 0
    for split in ("train", "valid", "test"):
        ex = json.load(open(os.path.join(d, f"nsynth-{split}", "examples.json")))
        for key, e in ex.items():
            assert e["note_str"] == key and e["sample_rate"] == 24000
            x, sr = read_wav(os.path.join(d, f"nsynth-{split}", "audio", key + ".wav"))
            assert len(x) == 4 * sr
            seg = x[int(0.1 * sr): int(1.1 * sr)] * np.hanning(sr)
            n = 4 * sr
            X = np.sqrt(np.abs(np.fft.rfft(seg, n)))  # 0.25 Hz bins, compressed
            df = sr / n
            best, best_s = None, -1
            for m10 in range(210 * 1, 1085):  # candidates every 0.1 semitone, MIDI 21..108.4
                m = m10 / 10
                f0 = 440.0 * 2 ** ((m - 69) / 12)
                s = 0.0
                for h in range(1, 9):
                    fh = h * f0
                    if fh > 0.45 * sr:
                        break
                    lo, hi = int(fh * 0.985 / df), int(fh * 1.015 / df) + 1
                    s += 0.84 ** h * X[lo:hi].max()
                if s > best_s:
                    best, best_s = m, s
            est = int(round(best))
            total += 1
            ok += est == e["pitch"]
            pc_ok += est % 12 == e["pitch"] % 12
            if est != e["pitch"]:
                print(f"  {key}: estimated {best:.1f}, label {e['pitch']}")
    a = report("pitch exact", ok, total, 0.85)
    b = report("pitch class", pc_ok, total, 0.9)
    return a and b


def check_key(d):
    ok = total = 0
    for split, base in split_items(d, ".key"):
        tonic, mode = open(base + ".key").read().split()
        t = NAMES[tonic]
        x, sr = read_wav(base + ".wav")
        pcp = chroma(x, sr).sum(axis=0)
        scores = {}
        for r in range(12):
            scores[(r, "major")] = pcp[r] + pcp[(r + 4) % 12] + pcp[(r + 7) % 12]
            scores[(r, "minor")] = pcp[r] + pcp[(r + 3) % 12] + pcp[(r + 7) % 12]
        best = max(scores, key=scores.get)
        total += 1
        ok += best == (t, mode)
        if best != (t, mode):
            print(f"  {os.path.basename(base)}: label {tonic} {mode}, strongest triad {best}")
    return report("key: tonic triad dominates", ok, total, 0.85)


def check_chords(d):
    ok = total = 0
    for split, base in split_items(d, ".lab"):
        x, sr = read_wav(base + ".wav")
        for line in open(base + ".lab"):
            a, b, lab = line.split()
            a, b = float(a), float(b)
            if b - a < 0.5:
                continue
            root, qual = lab.split(":")
            seg = x[int((a + 0.05) * sr): int(b * sr)]
            c = chroma(seg, sr, n_fft=4096, hop=1024).sum(axis=0)
            c = c / (c.sum() + 1e-12)
            best, best_s = None, -1
            for r in range(12):
                for third in (3, 4):
                    s = c[r] + c[(r + third) % 12] + c[(r + 7) % 12]
                    if s > best_s:
                        best, best_s = r, s
            total += 1
            ok += best == NAMES[root]
    return report("chords: root by chroma templates", ok, total, 0.75)


def onset_env(x, sr, hop, fmax=None):
    S = np.log1p(100 * stft_mag(x, 1024, hop))
    if fmax:
        S = S[:, : int(fmax / (sr / 1024)) + 1]
    flux = np.maximum(S[1:] - S[:-1], 0).sum(axis=1)
    flux = np.concatenate([[0], flux])
    return flux  # frame i centred at (i*hop + 512)/sr


def peaks(env, sr, hop, rel=0.3):
    t = (np.arange(len(env)) * hop + 512) / sr
    w = 5
    is_max = np.array([env[i] == env[max(0, i - w): i + w + 1].max() for i in range(len(env))])
    thr = rel * np.percentile(env, 99)
    return t[is_max & (env > thr)]


def check_beat(d):
    hits = total = dhit = dtotal = better = items = bpm_ok = 0
    for split, base in split_items(d, ".beats"):
        x, sr = read_wav(base + ".wav")
        hop = 120
        env = onset_env(x, sr, hop)
        on = peaks(env, sr, hop)
        low = peaks(onset_env(x, sr, hop, fmax=200), sr, hop, rel=0.2)
        beats = np.array([[float(v) for v in l.split()] for l in open(base + ".beats")])
        bt, pos = beats[:, 0], beats[:, 1].astype(int)
        for b in bt:
            total += 1
            hits += np.min(np.abs(on - b)) <= 0.035 if len(on) else 0
        for b in bt[pos == 1]:
            dtotal += 1
            dhit += np.min(np.abs(low - b)) <= 0.035 if len(low) else 0
        ibi = np.diff(bt)
        def strength(ts):
            i = np.clip(np.round((ts * sr - 512) / hop).astype(int), 0, len(env) - 1)
            return np.mean([env[max(0, j - 2): j + 3].max() for j in i])
        on_beat = strength(bt[:-1])
        off_beat = strength(bt[:-1] + 0.37 * ibi)
        items += 1
        better += on_beat > 1.5 * off_beat
        bpm = float(open(base + ".bpm").read())
        bpm_ok += abs(bpm - 60.0 / np.mean(ibi)) < 0.01 * bpm and 55 <= bpm <= 210
    a = report("beat: labelled beats with an onset within 35 ms", hits, total, 0.9)
    b = report("beat: downbeats with a low-band (kick/bass) onset within 35 ms", dhit, dtotal, 0.8)
    c = report("beat: onset strength on beats > 1.5x at off-beat positions", better, items, 0.9)
    e = report("beat: .bpm agrees with the beat spacing", bpm_ok, items, 1.0)
    return a and b and c and e


def check_tags(d):
    meta = {r["id"]: r for r in csv.DictReader(open(os.path.join(d, "metadata.csv")))}
    rows = list(csv.DictReader(open(os.path.join(d, "annotations_final.csv")), delimiter="\t"))
    tagnames = [k for k in rows[0].keys() if k not in ("clip_id", "mp3_path")]
    consistent = 0
    feats, has_drums = [], []
    for r in rows:
        tags = sorted(t for t in tagnames if r[t] == "1")
        consistent += tags == sorted(meta[r["clip_id"]]["tags"].split(";")) and len(tags) >= 2
        x, sr = read_wav(os.path.join(d, r["mp3_path"]))
        S = np.log1p(100 * stft_mag(x, 1024, 240))
        hf = S[:, int(6000 / (sr / 1024)):]  # 6-12 kHz: cymbals and hi-hats, little else
        feats.append(np.maximum(hf[1:] - hf[:-1], 0).sum(axis=1).mean())
        has_drums.append(r["drums"] == "1")
    a = report("tags: annotations_final.csv == metadata.csv, >= 2 tags", consistent, len(rows), 1.0)
    f, y = np.array(feats), np.array(has_drums)
    if y.all() or not y.any():
        print("tags: drums AUC skipped (one class only)")
        return a
    pos, neg = f[y], f[~y]
    auc = np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg])
    print(f"tags: 'drums' tag vs high-band flux ROC-AUC {auc:.3f} (need >= 0.9)")
    return a and auc >= 0.9


def check_stems(d):
    ok = total = 0
    for split in ("train", "valid", "test"):
        for tr in sorted(os.listdir(os.path.join(d, split))):
            p = os.path.join(d, split, tr)
            mix, sr = read_wav(os.path.join(p, "mixture.wav"))
            st = [read_wav(os.path.join(p, s + ".wav"))[0] for s in ("drums", "bass", "vocals", "other")]
            err = np.max(np.abs(mix - sum(st))) * 32768
            sounding = all(np.sqrt(np.mean(s ** 2)) > 1e-3 for s in st)
            total += 1
            ok += err <= 3.0 and sounding
            if not (err <= 3.0 and sounding):
                print(f"  {tr}: max |mix - sum| = {err:.1f} LSB, stems rms {[float(np.sqrt(np.mean(s**2))) for s in st]}")
    return report("stems: mixture = sum of stems, all stems sound", ok, total, 1.0)


def check_corpus(d):
    ok = total = 0
    seen = set()
    for m in ("train.tsv", "valid.tsv"):
        lines = open(os.path.join(d, m)).read().splitlines()
        root = lines[0]
        assert os.path.isabs(root) and os.path.samefile(root, d), root
        for l in lines[1:]:
            rel, n = l.split("\t")
            with wave.open(os.path.join(root, rel)) as w:
                ok += w.getnframes() == int(n)
            total += 1
            seen.add(rel)
    files = {"audio/" + f for f in os.listdir(os.path.join(d, "audio"))}
    print(f"corpus: manifests list {len(seen)} of {len(files)} files")
    return report("corpus: manifest sample counts", ok, total, 1.0) and seen == files


if __name__ == "__main__":
    task, d = sys.argv[1], sys.argv[2]
    fn = {"pitch": check_pitch, "instrument": check_pitch, "key": check_key, "chords": check_chords, "beat": check_beat,
          "tags": check_tags, "stems": check_stems, "corpus": check_corpus}[task]
    sys.exit(0 if fn(d) else 1)
