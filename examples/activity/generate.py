#!/usr/bin/python3
"""Synthetic chest-accelerometer recordings for the activity example, and their loader.

    /usr/bin/python3 generate.py -o recording.csv [--rows 197633] [--seed 1]
    /usr/bin/python3 generate.py --from-uci 1.csv -o recording.csv

Writes CSV `seq,x,y,z,label` at 52 Hz: x, y, z are raw 12-bit sensor counts (2048 = 0 g,
400 counts per g; x along the body's long axis, y to the left, z out of the chest) and
label is 1..6 = lying, sedentary, dynamic, walking, running, biking. The signal model
(posture, gait, noise, drift, bouts and transitions) is described in docs/activity.md.
The same seed always gives the same file.
"""
from __future__ import annotations

import argparse
import math
import sys

import numpy as np

SAMPLE_HZ = 52
BLOCK_SIZE = 128
DEFAULT_ROWS = 197_633  # 1544 blocks of 128 samples (+1 left-over row), as in the paper
HEADER = "seq,x,y,z,label"
LABELS = {1: "lying", 2: "sedentary", 3: "dynamic", 4: "walking", 5: "running", 6: "biking"}
UNLABELED = 0

ZERO_G = 2048.0
COUNTS_PER_G = 400.0
ADC_MAX = 4095

# UCI "Activity Recognition from Single Chest-Mounted Accelerometer" labels -> ours.
# 0 has no activity in the UCI files and stays 0 ("unlabeled", left out of training).
UCI_LABEL_MAP = {
    0: UNLABELED,
    1: 2,  # working at computer          -> sedentary
    2: 3,  # standing up, walking, stairs  -> dynamic
    3: 2,  # standing                      -> sedentary
    4: 4,  # walking                       -> walking
    5: 3,  # going up/down stairs          -> dynamic
    6: 4,  # walking and talking           -> walking
    7: 2,  # talking while standing        -> sedentary
}


class RecordingError(ValueError):
    """A recording file that cannot be read; the message names the file and line."""


# --------------------------------------------------------------------------- generator

def _smooth_noise(rng, n, width_s, scale):
    """Gaussian noise low-passed by a Hann window of width_s seconds, with std `scale`."""
    width = max(3, int(width_s * SAMPLE_HZ))
    pad = width
    white = rng.standard_normal(n + 2 * pad)
    window = np.hanning(width)
    smooth = np.convolve(white, window / window.sum(), mode="same")[pad:pad + n]
    std = smooth.std()
    return smooth * (scale / std) if std > 0 else smooth


def _gravity(pitch, roll):
    """Unit 'up' vector in the body frame for a trunk reclined by `pitch` (rad, + = backwards,
    pi/2 = supine) and rolled by `roll` (rad, + = onto the left side)."""
    pitch = np.asarray(pitch, dtype=float)
    roll = np.asarray(roll, dtype=float)
    return np.stack([np.cos(pitch) * np.cos(roll), np.sin(roll), np.sin(pitch) * np.cos(roll)],
                    axis=-1)


def _gait_phase(rng, n, cadence_hz, wobble):
    """Phase (rad) of a gait whose frequency wanders slowly by about `wobble` (relative)."""
    freq = cadence_hz * (1.0 + _smooth_noise(rng, n, 8.0, wobble))
    return 2.0 * math.pi * np.cumsum(freq) / SAMPLE_HZ + rng.uniform(0, 2 * math.pi)


def _rotation(degrees):
    """Rotation matrix for rotations about x, then y, then z by the given angles."""
    cx, cy, cz = np.cos(np.radians(degrees))
    sx, sy, sz = np.sin(np.radians(degrees))
    rot_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rot_z @ rot_y @ rot_x


def _new_subject(rng):
    """Per-person constants: sensor mounting, calibration and how the person moves."""
    return {
        "mount": _rotation(rng.normal(0.0, 12.0, size=3)),  # strap placement
        "offset": rng.normal(0.0, 25.0, size=3),
        "gain": rng.normal(1.0, 0.02, size=3),
        "walk_hz": rng.normal(1.85, 0.2),
        "run_hz": rng.normal(2.65, 0.25),
        "bike_hz": rng.normal(1.3, 0.15),
        "vigour": rng.lognormal(0.0, 0.4),
        "sit_pitch": math.radians(rng.normal(5.0, 15.0)),
        "bike_pitch": math.radians(rng.normal(-30.0, 10.0)),
        "breath_hz": rng.uniform(0.2, 0.33),
    }


def _pauses(rng, n, per_minute, min_s, max_s):
    """Envelope (n,) that is 1 except for a few pauses (0) with smooth edges: stops at a
    crossing, coasting on the bike, a fidget while sitting (then used inverted)."""
    envelope = np.ones(n)
    for _ in range(rng.poisson(per_minute * n / (60.0 * SAMPLE_HZ))):
        length = int(rng.uniform(min_s, max_s) * SAMPLE_HZ)
        start = int(rng.integers(0, max(1, n - length)))
        envelope[start:start + length] = 0.0
    window = np.hanning(SAMPLE_HZ // 2 + 2)
    return np.convolve(envelope, window / window.sum(), mode="same")


def _bout(rng, activity, n, subject):
    """Body-frame 'up' direction (n,3) and dynamic acceleration in g (n,3) of one bout."""
    t = np.arange(n) / SAMPLE_HZ
    dyn = np.zeros((n, 3))
    vigour = subject["vigour"] * rng.normal(1.0, 0.1)
    breath = np.sin(2 * math.pi * subject["breath_hz"] * t + rng.uniform(0, 2 * math.pi))
    if activity == 1:  # lying: supine, on a side, or prone; breathing moves the chest
        posture = rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])
        pitch = math.radians([75.0, 0.0, 0.0, -90.0][posture] + rng.normal(0, 15))
        roll = math.radians([0.0, 85.0, -85.0, 0.0][posture] + rng.normal(0, 8))
        up = _gravity(np.full(n, pitch), np.full(n, roll))
        dyn[:, 2] = 0.008 * breath + _smooth_noise(rng, n, 0.5, 0.003)
    elif activity == 2:  # sedentary: sitting (reclined a little) or standing still
        base = subject["sit_pitch"] if rng.random() < 0.7 else math.radians(-3.0)
        pitch = base + math.radians(rng.normal(0, 12)) + _smooth_noise(rng, n, 6.0, 0.05)
        roll = math.radians(rng.normal(0, 5)) + _smooth_noise(rng, n, 6.0, 0.02)
        up = _gravity(pitch, roll)
        dyn[:, 2] = 0.006 * breath
        fidget = 1.0 - _pauses(rng, n, 1.0, 1.0, 4.0)  # short bursts of moving about
        amp = 0.012 + 0.15 * subject["vigour"] * fidget[:, None]
        dyn += np.stack([_smooth_noise(rng, n, 0.4, 1.0) for _ in range(3)], axis=1) * amp
    elif activity == 3:  # dynamic: chores, stairs, turning: irregular moves and posture
        pitch = math.radians(rng.normal(-10, 10)) + _smooth_noise(rng, n, 3.0, 0.25)
        roll = _smooth_noise(rng, n, 3.0, 0.15)
        up = _gravity(pitch, roll)
        amp = 0.18 * vigour * rng.lognormal(0.0, 0.5)
        dyn += np.stack([_smooth_noise(rng, n, 0.35, amp) for _ in range(3)], axis=1)
        steps = np.zeros(n)  # a few irregular steps or jolts
        count = rng.poisson(n / SAMPLE_HZ * 0.8)
        steps[rng.integers(0, n, size=count)] = rng.uniform(0.3, 0.8, size=count) * vigour
        jolt = np.hanning(int(0.15 * SAMPLE_HZ) + 2)
        dyn[:, 0] += np.convolve(steps, jolt, mode="same")
        if rng.random() < 0.4:  # stairs, carrying things: an uneven gait
            phase = _gait_phase(rng, n, rng.uniform(1.2, 2.2), 0.1)
            dyn[:, 0] += 0.2 * vigour * np.sin(phase) * _pauses(rng, n, 2.0, 1.0, 5.0)
    elif activity == 4:  # walking: ~1.9 steps/s, sway at half the step rate
        phase = _gait_phase(rng, n, subject["walk_hz"] * rng.normal(1, 0.05), 0.03)
        amp = 0.28 * vigour
        pitch = math.radians(rng.normal(-4, 3)) + _smooth_noise(rng, n, 4.0, 0.02)
        up = _gravity(pitch, np.zeros(n) + math.radians(rng.normal(0, 3)))
        dyn[:, 0] = amp * (np.sin(phase) + 0.3 * np.sin(2 * phase + 0.6))
        dyn[:, 1] = 0.35 * amp * np.sin(0.5 * phase + 0.3)
        dyn[:, 2] = 0.5 * amp * np.sin(phase + 1.9)
        dyn *= _pauses(rng, n, 0.6, 2.0, 10.0)[:, None]  # waiting at a crossing
        dyn += np.stack([_smooth_noise(rng, n, 0.2, 0.03) for _ in range(3)], axis=1)
    elif activity == 5:  # running: ~2.8 steps/s, sharp impact peaks, forward lean
        phase = _gait_phase(rng, n, subject["run_hz"] * rng.normal(1, 0.05), 0.03)
        amp = 0.9 * vigour
        pitch = math.radians(rng.normal(-10, 4)) + _smooth_noise(rng, n, 4.0, 0.03)
        up = _gravity(pitch, np.zeros(n) + math.radians(rng.normal(0, 3)))
        impact = np.maximum(0.0, np.sin(phase)) ** 3
        dyn[:, 0] = amp * 2.5 * (impact - 2.0 / (3.0 * math.pi))
        dyn[:, 1] = 0.25 * amp * np.sin(0.5 * phase + 0.4)
        dyn[:, 2] = 0.4 * amp * np.sin(phase + 2.2)
        dyn *= _pauses(rng, n, 0.4, 2.0, 8.0)[:, None]  # catching breath
        dyn += np.stack([_smooth_noise(rng, n, 0.15, 0.08) for _ in range(3)], axis=1)
    else:  # biking: bent forward ~35 deg, pedalling ~1.3 rev/s, road vibration
        phase = _gait_phase(rng, n, subject["bike_hz"] * rng.normal(1, 0.05), 0.04)
        pitch = subject["bike_pitch"] + math.radians(rng.normal(0, 5)) + _smooth_noise(
            rng, n, 5.0, 0.03)
        up = _gravity(pitch, np.zeros(n) + math.radians(rng.normal(0, 4)))
        dyn[:, 0] = 0.05 * vigour * np.sin(2 * phase)
        dyn[:, 1] = 0.07 * vigour * np.sin(phase + 0.5)
        dyn[:, 2] = 0.04 * vigour * np.sin(2 * phase + 1.0)
        dyn *= _pauses(rng, n, 0.8, 2.0, 10.0)[:, None]  # coasting
        dyn += rng.normal(0.0, 0.04, size=(n, 3))
    return up, dyn


def _refill(rng, bag, totals, previous):
    """Next six bouts: every activity once, in random order. The longest of six random
    bout lengths go to the activities with the least time so far, so classes stay balanced."""
    seconds = np.sort(np.clip(rng.lognormal(math.log(25.0), 0.7, size=6), 5.0, 300.0))[::-1]
    neediest = sorted(range(1, 7), key=lambda activity: totals[activity])
    bouts = [(activity, float(length)) for activity, length in zip(neediest, seconds)]
    order = rng.permutation(6)
    bag.extend(bouts[i] for i in order)
    if bag[-1][0] == previous:  # bag.pop() takes the last: no activity twice in a row
        bag[0], bag[-1] = bag[-1], bag[0]


def _subject_recording(rng, subject, samples, bag, totals):
    """One person's recording of about `samples` samples: bouts with smooth transitions.

    Returns (up, dyn, label) arrays. The annotated label switches near, not exactly at, the
    middle of each transition (annotators are a few seconds early or late)."""
    ups, dyns, labels = [], [], []
    length = 0
    previous = None
    while length < samples:
        if not bag:
            _refill(rng, bag, totals, previous)
        activity, seconds = bag.pop()
        n = int(seconds * SAMPLE_HZ)
        overlap = int(rng.uniform(1.0, 3.0) * SAMPLE_HZ) if previous is not None else 0
        up, dyn = _bout(rng, activity, n + overlap, subject)
        up = up @ _rotation(rng.normal(0.0, 5.0, size=3)).T  # the strap slips a little
        label = np.full(n + overlap, activity, dtype=np.int64)
        if overlap:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, overlap))[:, None]
            prev_up, prev_dyn, prev_label = ups[-1], dyns[-1], labels[-1]
            blended = (1 - ramp) * prev_up[-overlap:] + ramp * up[:overlap]
            prev_up[-overlap:] = blended / np.linalg.norm(blended, axis=1, keepdims=True)
            prev_dyn[-overlap:] = (1 - ramp) * prev_dyn[-overlap:] + ramp * dyn[:overlap]
            lag = int(rng.normal(0.0, 4.0) * SAMPLE_HZ)
            # samples before `switch` (counted from the overlap start) keep the old label
            switch = int(np.clip(overlap // 2 + lag, overlap - len(prev_label), overlap + n))
            if switch <= overlap:
                prev_label[len(prev_label) - overlap + switch:] = activity
            else:
                label[overlap:switch] = previous
            up, dyn, label = up[overlap:], dyn[overlap:], label[overlap:]
        ups.append(up)
        dyns.append(dyn)
        labels.append(label)
        length += len(label)
        totals[activity] += n
        previous = activity
    return np.concatenate(ups), np.concatenate(dyns), np.concatenate(labels)


def generate(rows: int = DEFAULT_ROWS, seed: int = 1, subject_minutes: float = 15.0):
    """Returns (xyz int64 array (rows, 3), label int64 array (rows,)) for `rows` samples."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    rng = np.random.default_rng(seed)
    xyz_parts, label_parts = [], []
    total = 0
    bag: list[tuple[int, float]] = []
    totals = dict.fromkeys(range(1, 7), 0)
    per_subject = int(subject_minutes * 60 * SAMPLE_HZ)
    while total < rows:
        subject = _new_subject(rng)
        up, dyn, label = _subject_recording(rng, subject, min(per_subject, rows - total), bag,
                                               totals)
        n = len(label)
        t = np.arange(n) / SAMPLE_HZ
        drift = np.zeros((n, 3))  # slow thermal drift of the sensor, a few counts
        for _ in range(3):
            freq = rng.uniform(0.0005, 0.005)
            drift += rng.normal(0.0, 0.008, size=3) * np.sin(
                2 * math.pi * freq * t + rng.uniform(0, 2 * math.pi))[:, None]
        accel = up + dyn + drift + rng.normal(0.0, 0.008, size=(n, 3))  # sensor noise
        sensor = accel @ subject["mount"].T
        counts = ZERO_G + subject["offset"] + subject["gain"] * COUNTS_PER_G * sensor
        xyz_parts.append(np.clip(np.rint(counts), 0, ADC_MAX).astype(np.int64))
        label_parts.append(label)
        total += n
    if not xyz_parts:
        return np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(xyz_parts)[:rows], np.concatenate(label_parts)[:rows]


def write_recording(path: str, xyz, label) -> None:
    """Writes `seq,x,y,z,label` with a header line, seq counting from 0."""
    table = np.column_stack([np.arange(len(label)), xyz, label])
    with open(path, "w", encoding="ascii", newline="\n") as out:
        out.write(HEADER + "\n")
        np.savetxt(out, table, fmt="%d", delimiter=",")


def block_labels(label, block_size: int = BLOCK_SIZE):
    """The most frequent label of each complete block (smallest label on ties)."""
    blocks = len(label) // block_size
    grid = np.asarray(label[: blocks * block_size]).reshape(blocks, block_size)
    counts = np.stack([(grid == k).sum(axis=1) for k in range(8)], axis=1)
    return counts.argmax(axis=1)


# --------------------------------------------------------------------------- loader

def _integer(text: str, path: str, line: int, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value):
        raise RecordingError(f"{path}:{line}: {column} is not an integer: {text.strip()!r}")
    return int(value)


def load_recording(path: str, layout: str = "auto"):
    """Reads a recording; returns (xyz int64 (n,3), label int64 (n,)) with our labels 0..6.

    layout "memopt": header `seq,x,y,z,label`, labels 0..6 (0 = unlabeled).
    layout "uci": no header, labels 0..7 of the UCI chest-accelerometer data, mapped by
    UCI_LABEL_MAP. "auto" picks "memopt" when the first line is the header, else "uci".
    Raises RecordingError naming the file and line for any malformed row."""
    if layout not in ("auto", "memopt", "uci"):
        raise ValueError(f"unknown layout {layout!r}")
    try:
        source = open(path, "r", encoding="ascii", errors="replace")
    except OSError as error:
        raise RecordingError(f"{path}: cannot open: {error.strerror}") from None
    xyz, labels = [], []
    with source:
        for number, text in enumerate(source, start=1):
            if number == 1 and text.strip().replace(" ", "") == HEADER:
                if layout == "uci":
                    raise RecordingError(f"{path}:1: UCI files have no header line")
                layout = "memopt"
                continue
            if number == 1 and layout == "auto":
                layout = "uci"
            if not text.strip():
                continue
            fields = text.split(",")
            if len(fields) != 5:
                raise RecordingError(
                    f"{path}:{number}: expected 5 fields seq,x,y,z,label, found {len(fields)}")
            _integer(fields[0], path, number, "seq")
            row = [_integer(fields[i], path, number, name)
                   for i, name in ((1, "x"), (2, "y"), (3, "z"))]
            label = _integer(fields[4], path, number, "label")
            if layout == "uci":
                if label not in UCI_LABEL_MAP:
                    raise RecordingError(f"{path}:{number}: UCI label {label} is not in 0..7")
                label = UCI_LABEL_MAP[label]
            elif label not in LABELS and label != UNLABELED:
                raise RecordingError(f"{path}:{number}: label {label} is not in 0..6")
            xyz.append(row)
            labels.append(label)
    return np.array(xyz, dtype=np.int64).reshape(-1, 3), np.array(labels, dtype=np.int64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from-uci", metavar="CSV",
                        help="convert a UCI chest-accelerometer file instead of generating")
    args = parser.parse_args(argv)
    try:
        if args.from_uci:
            xyz, label = load_recording(args.from_uci, layout="uci")
        else:
            xyz, label = generate(args.rows, args.seed)
        write_recording(args.output, xyz, label)
    except (RecordingError, ValueError, OSError) as error:
        print(f"generate.py: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(label)} rows ({len(label) // BLOCK_SIZE} blocks) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
