"""The generator (determinism, size, balance, plausibility) and the recording loader."""
import numpy as np
import pytest

import generate


def test_same_seed_same_recording_other_seed_other_recording(tmp_path):
    xyz, label = generate.generate(20_000, seed=7)
    again_xyz, again_label = generate.generate(20_000, seed=7)
    assert np.array_equal(xyz, again_xyz) and np.array_equal(label, again_label)
    other_xyz, _ = generate.generate(20_000, seed=8)
    assert not np.array_equal(xyz, other_xyz)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    generate.write_recording(str(first), xyz, label)
    generate.write_recording(str(second), again_xyz, again_label)
    assert first.read_bytes() == second.read_bytes()


def test_default_size_is_the_papers_1544_blocks_with_balanced_classes():
    xyz, label = generate.generate()
    assert xyz.shape == (197_633, 3) and label.shape == (197_633,)
    assert len(label) // generate.BLOCK_SIZE == 1544
    assert xyz.dtype == np.int64 and xyz.min() >= 0 and xyz.max() <= generate.ADC_MAX
    share = np.bincount(label, minlength=7)[1:] / len(label)
    assert set(np.unique(label)) == set(range(1, 7))
    assert share.min() > 0.10 and share.max() < 0.25, share
    blocks = generate.block_labels(label)
    assert np.bincount(blocks, minlength=7)[1:].min() > 100


def test_signals_are_physically_plausible():
    xyz, label = generate.generate(200_000, seed=3)
    g = (xyz - generate.ZERO_G) / generate.COUNTS_PER_G
    magnitude = np.linalg.norm(g, axis=1)
    lying, running, walking = label == 1, label == 5, label == 4
    assert abs(np.median(magnitude[lying]) - 1.0) < 0.1  # at rest the sensor feels 1 g
    # lying: gravity is no longer along the body's long axis (x)
    assert np.median(np.abs(g[lying, 0])) < 0.6 < np.median(g[label == 2, 0])
    assert magnitude[running].std() > 2 * magnitude[walking].std()

    def step_hz(activity, axis=0):
        """Median dominant frequency of 512-sample windows of one activity."""
        blocks = []
        for start in range(0, len(label) - 512, 512):
            if (label[start:start + 512] == activity).all():
                v = g[start:start + 512, axis] - g[start:start + 512, axis].mean()
                spectrum = np.abs(np.fft.rfft(v * np.hanning(512)))
                blocks.append(np.argmax(spectrum[2:]) + 2)
        return np.median(blocks) * generate.SAMPLE_HZ / 512

    assert 1.6 < step_hz(4) < 2.3  # walking
    assert 2.4 < step_hz(5) < 3.2  # running
    assert 1.0 < step_hz(6, axis=1) < 1.6  # biking: the trunk sways once per crank turn


def test_loader_reads_back_what_was_written(tmp_path):
    xyz, label = generate.generate(1000, seed=5)
    path = tmp_path / "rec.csv"
    generate.write_recording(str(path), xyz, label)
    assert path.read_text().splitlines()[0] == "seq,x,y,z,label"
    got_xyz, got_label = generate.load_recording(str(path))
    assert np.array_equal(got_xyz, xyz) and np.array_equal(got_label, label)


def test_loader_maps_the_uci_layout(tmp_path):
    path = tmp_path / "1.csv"
    path.write_text("".join(f"{i},{1900 + i},{2300 - i},{2000},{uci}\n"
                            for i, uci in enumerate([0, 1, 2, 3, 4, 5, 6, 7])))
    xyz, label = generate.load_recording(str(path))
    assert list(label) == [0, 2, 3, 2, 4, 3, 4, 2]
    assert list(xyz[3]) == [1903, 2297, 2000]
    out = tmp_path / "converted.csv"
    assert generate.main(["--from-uci", str(path), "-o", str(out)]) == 0
    assert out.read_text().splitlines()[2] == "1,1901,2299,2000,2"


@pytest.mark.parametrize("text, message", [
    ("seq,x,y,z,label\n0,1,2,3,1\n1,2,3,4\n", ":3: expected 5 fields seq,x,y,z,label, found 4"),
    ("seq,x,y,z,label\n0,1,2,3,1\n1,2,x3,4,1\n", ":3: y is not an integer: 'x3'"),
    ("seq,x,y,z,label\n0,1,2.5,3,1\n", ":2: y is not an integer: '2.5'"),
    ("seq,x,y,z,label\n0,1,2,3,9\n", ":2: label 9 is not in 0..6"),
    ("0,1,2,3,1\n1,1,2,3,8\n", ":2: UCI label 8 is not in 0..7"),
])
def test_loader_rejects_malformed_rows_naming_the_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(generate.RecordingError) as error:
        generate.load_recording(str(path))
    assert str(error.value) == str(path) + message


def test_loader_names_a_missing_file(tmp_path):
    with pytest.raises(generate.RecordingError, match="missing.csv: cannot open"):
        generate.load_recording(str(tmp_path / "missing.csv"))
