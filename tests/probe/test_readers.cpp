// Dataset readers of `mert probe` on small fixture trees in each published layout: counts,
// splits, labels, segment times, and the errors (missing audio, bad labels, empty splits).
// Audio files are placeholders (readers do not decode), except VocalSet's, whose lengths matter.
// Expected split assignments of the hash rules were computed independently with Python's hashlib
// (jukemir's code for GiantSteps / Emomusic), not with the C++ under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "mert/audio.h"
#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"
#include "util/sha1.h"

namespace fs = std::filesystem;
using namespace mert::probe;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mert_readers_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& rel) const { return (fs::path(path_) / rel).string(); }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}
void touch(const std::string& path) { write(path, "x"); }
void wav(const std::string& path, double seconds) {  // real WAV at 1 kHz: only its length matters
  fs::create_directories(fs::path(path).parent_path());
  mert::write_wav_f32(path, std::vector<float>(size_t(std::lround(seconds * 1000)), 0.f), 1000);
}

// Runs `f`, expects a mert::Error whose message holds every fragment.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> fragments) {
  try {
    f();
  } catch (const mert::Error& e) {
    const std::string m = e.what();
    for (const auto& frag : fragments) EXPECT_NE(m.find(frag), std::string::npos) << "message: " << m << "\nwanted: " << frag;
    return;
  }
  ADD_FAILURE() << "no mert::Error thrown";
}

std::map<std::string, const ProbeItem*> by_id(const ProbeDataset& ds) {
  std::map<std::string, const ProbeItem*> m;
  for (const auto& it : ds.items) m[it.id] = &it;
  return m;
}

std::map<std::string, int> split_counts(const ProbeDataset& ds) {
  std::map<std::string, int> c;
  for (const auto& it : ds.items) ++c[it.split];
  return c;
}

void expect_sorted_unique(const ProbeDataset& ds) {
  for (size_t i = 1; i < ds.items.size(); ++i) EXPECT_LT(ds.items[i - 1].id, ds.items[i].id);
}

// ---------------------------------------------------------------- helpers

TEST(ReaderUtil, Sha1KnownVectors) {
  EXPECT_EQ(mert::sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(mert::sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(mert::sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(mert::sha1_hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  EXPECT_EQ(mert::sha1_hex(std::string(55, 'x')).size(), 40u);  // padding edge: 55 and 56 bytes
  EXPECT_NE(mert::sha1_hex(std::string(55, 'x')), mert::sha1_hex(std::string(56, 'x')));
  // Python: int(hashlib.sha1(b"abc").hexdigest(), 16) % 116 == 65, % 100 == 17
  EXPECT_EQ(mert::sha1_mod("abc", 116), 65u);
  EXPECT_EQ(mert::sha1_mod("abc", 100), 17u);
}

TEST(ReaderUtil, SplitFieldsAsPythonCsv) {
  using detail::split_fields;
  EXPECT_EQ(split_fields("a,\"b, c\",d", ','), (std::vector<std::string>{"a", "b, c", "d"}));
  EXPECT_EQ(split_fields("\"say \"\"hi\"\"\",x,", ','), (std::vector<std::string>{"say \"hi\"", "x", ""}));
  EXPECT_EQ(split_fields("\"clip_id\"\t\"no voice\"\t\"f/a.mp3\"", '\t'),
            (std::vector<std::string>{"clip_id", "no voice", "f/a.mp3"}));
  EXPECT_EQ(split_fields(" a \t\tb", '\t'), (std::vector<std::string>{"a", "", "b"}));
}

TEST(ReaderUtil, SafeId) {
  EXPECT_EQ(detail::safe_id("blues/blues.00012"), "blues__blues.00012");
  EXPECT_EQ(detail::safe_id(".hidden name"), "_hidden_name");
}

// ---------------------------------------------------------------- NSynth

void nsynth_fixture(const TempDir& d, const std::string& ext) {
  // note_str -> (pitch, family index, family str)
  const char* splits[3] = {"train", "valid", "test"};
  const char* notes[3][2] = {{"bass_synthetic_033-022-050", "keyboard_acoustic_004-060-127"},
                             {"guitar_electronic_021-064-075", nullptr},
                             {"vocal_acoustic_000-070-100", "string_acoustic_012-050-025"}};
  const int pitch[3][2] = {{22, 60}, {64, 0}, {70, 50}};
  const int fam[3][2] = {{0, 4}, {3, 0}, {10, 8}};
  const char* fam_str[11] = {"bass", "brass", "flute", "guitar", "keyboard", "mallet",
                             "organ", "reed", "string", "synth_lead", "vocal"};
  for (int s = 0; s < 3; ++s) {
    std::string json = "{\n";
    for (int k = 0; k < 2 && notes[s][k]; ++k) {
      if (k) json += ",\n";
      json += std::string("  \"") + notes[s][k] + "\": {\"note\": 1, \"pitch\": " + std::to_string(pitch[s][k]) +
              ", \"velocity\": 50, \"instrument_family\": " + std::to_string(fam[s][k]) +
              ", \"instrument_family_str\": \"" + fam_str[fam[s][k]] + "\", \"qualities\": [0, 1], \"sample_rate\": 16000}";
      touch(d / (std::string("nsynth-") + splits[s] + "/audio/" + notes[s][k] + ext));
    }
    write(d / (std::string("nsynth-") + splits[s] + "/examples.json"), json + "\n}\n");
  }
}

TEST(ReadNsynth, PitchAndInstrument) {
  TempDir d;
  nsynth_fixture(d, ".wav");
  const ProbeDataset p = read_nsynth_pitch(d.str());
  EXPECT_EQ(p.type, TaskType::Multiclass);
  ASSERT_EQ(p.class_names.size(), 128u);
  EXPECT_EQ(p.class_names[60], "60");
  ASSERT_EQ(p.items.size(), 5u);
  expect_sorted_unique(p);
  auto m = by_id(p);
  EXPECT_EQ(m.at("keyboard_acoustic_004-060-127")->label, 60);
  EXPECT_EQ(m.at("keyboard_acoustic_004-060-127")->split, "train");
  EXPECT_EQ(m.at("guitar_electronic_021-064-075")->split, "valid");
  EXPECT_EQ(m.at("vocal_acoustic_000-070-100")->split, "test");
  EXPECT_EQ(m.at("bass_synthetic_033-022-050")->path, d / "nsynth-train/audio/bass_synthetic_033-022-050.wav");
  EXPECT_EQ(split_counts(p), (std::map<std::string, int>{{"test", 2}, {"train", 2}, {"valid", 1}}));

  const ProbeDataset i = read_nsynth_instrument(d.str());
  ASSERT_EQ(i.class_names.size(), 11u);
  EXPECT_EQ(i.class_names[9], "synth_lead");
  auto mi = by_id(i);
  EXPECT_EQ(mi.at("vocal_acoustic_000-070-100")->label, 10);
  EXPECT_EQ(mi.at("string_acoustic_012-050-025")->label, 8);
  EXPECT_EQ(mi.at("bass_synthetic_033-022-050")->label, 0);
}

TEST(ReadNsynth, Errors) {
  {
    TempDir d;
    nsynth_fixture(d, ".wav");
    fs::remove(d / "nsynth-test/audio/vocal_acoustic_000-070-100.wav");
    expect_error([&] { read_nsynth_pitch(d.str()); }, {"1 audio file missing", "vocal_acoustic_000-070-100.wav"});
  }
  {
    TempDir d;
    nsynth_fixture(d, ".wav");
    write(d / "nsynth-valid/examples.json", "{\"guitar_electronic_021-064-075\": {\"pitch\": 130, \"instrument_family\": 3}}");
    expect_error([&] { read_nsynth_pitch(d.str()); }, {"nsynth-valid/examples.json", "guitar_electronic_021-064-075", "130"});
  }
  {
    TempDir d;
    nsynth_fixture(d, ".wav");
    write(d / "nsynth-valid/examples.json",
          "{\"guitar_electronic_021-064-075\": {\"pitch\": 64, \"instrument_family\": 3, \"instrument_family_str\": \"flute\"}}");
    expect_error([&] { read_nsynth_instrument(d.str()); }, {"guitar_electronic_021-064-075", "flute"});
  }
  {
    TempDir d;
    nsynth_fixture(d, ".wav");
    write(d / "nsynth-valid/examples.json", "{}");
    expect_error([&] { read_nsynth_pitch(d.str()); }, {"split 'valid' is empty"});
  }
  {
    TempDir d;
    nsynth_fixture(d, ".wav");
    fs::remove(d / "nsynth-test/examples.json");
    expect_error([&] { read_nsynth_pitch(d.str()); }, {"nsynth-test/examples.json not found"});
  }
}

// ---------------------------------------------------------------- GTZAN

void gtzan_fixture(const TempDir& d, const std::string& audio_dir) {
  write(d / "train_filtered.txt", "blues/blues.00012.wav\njazz/jazz.00054.wav\nrock/rock.00001.wav\n\n");
  write(d / "valid_filtered.txt", "classical/classical.00003.wav\r\n");
  write(d / "test_filtered.txt", "hiphop/hiphop.00099.wav\nreggae/reggae.00000.wav\n");
  for (const char* f : {"blues/blues.00012.wav", "rock/rock.00001.wav", "classical/classical.00003.wav",
                        "hiphop/hiphop.00099.wav", "reggae/reggae.00000.wav"})
    touch(d / (audio_dir + "/" + f));
}

TEST(ReadGtzan, ListsAndGenres) {
  for (const std::string dir : {"genres", "genres_original", "Data/genres_original"}) {
    TempDir d;
    gtzan_fixture(d, dir);
    testing::internal::CaptureStderr();
    const ProbeDataset ds = read_gtzan(d.str());
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("jazz.00054 skipped"), std::string::npos) << err;
    EXPECT_NE(err.find("train_filtered.txt:2"), std::string::npos) << err;
    ASSERT_EQ(ds.items.size(), 5u);
    expect_sorted_unique(ds);
    ASSERT_EQ(ds.class_names.size(), 10u);
    auto m = by_id(ds);
    EXPECT_EQ(m.at("blues__blues.00012")->label, 0);
    EXPECT_EQ(m.at("rock__rock.00001")->label, 9);
    EXPECT_EQ(m.at("classical__classical.00003")->split, "valid");
    EXPECT_EQ(m.at("reggae__reggae.00000")->label, 8);
    EXPECT_EQ(m.at("reggae__reggae.00000")->split, "test");
    EXPECT_EQ(m.at("hiphop__hiphop.00099")->path, d / (dir + "/hiphop/hiphop.00099.wav"));
  }
}

TEST(ReadGtzanBeat, JamsAndBeatListsBesideTheGenreLayout) {
  TempDir d;
  gtzan_fixture(d, "genres");
  // JAMS 0.3 (a list of observations, after a tempo annotation), JAMS 0.2 (parallel arrays), a
  // plain beat list under jams/ and beats/; reggae.00000 has none and is left out with a note.
  write(d / "rhythm/jams/blues.00012.wav.jams",
        R"({"annotations": [{"namespace": "tempo", "data": [{"time": 0, "value": 120}]},
                            {"namespace": "beat", "data": [{"time": 0.5, "duration": 0, "value": 1},
                                                           {"time": 1.0, "duration": 0, "value": 2}]}]})");
  write(d / "rhythm/jams/rock.00001.wav.jams",
        R"({"annotations": [{"namespace": "beat_position", "data": {"time": [0.25, 0.75, 1.25], "value": [1, 2, 3]}}]})");
  write(d / "beats/hiphop.00099.beats", "0.1\n0.6 2\n");
  write(d / "jams/classical.00003.wav.jams", R"({"annotations": [{"namespace": "beat", "data": []}]})");
  testing::internal::CaptureStderr();
  const ProbeDataset ds = read_gtzan_beat(d.str());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("1 track(s) without a beat annotation left out (first: reggae.00000"), std::string::npos) << err;
  EXPECT_EQ(ds.type, TaskType::Beat);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"no-beat", "beat"}));
  ASSERT_EQ(ds.items.size(), 4u);
  auto m = by_id(ds);
  EXPECT_TRUE(read_beat_annotation(m.at("classical__classical.00003")->annotation).empty());
  EXPECT_EQ(read_beat_annotation(m.at("blues__blues.00012")->annotation), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(read_beat_annotation(m.at("rock__rock.00001")->annotation), (std::vector<double>{0.25, 0.75, 1.25}));
  EXPECT_EQ(read_beat_annotation(m.at("hiphop__hiphop.00099")->annotation), (std::vector<double>{0.1, 0.6}));
  EXPECT_EQ(m.at("hiphop__hiphop.00099")->split, "test");
  // rhythm/jams/ comes first; a malformed annotation fails the reader, naming the file.
  write(d / "rhythm/jams/classical.00003.wav.jams", R"({"annotations": [{"namespace": "chord", "data": []}]})");
  expect_error([&] { read_gtzan_beat(d.str()); }, {"classical.00003.wav.jams", "no 'beat' annotation"});
  write(d / "rhythm/jams/classical.00003.wav.jams", R"({"annotations": [{"namespace": "beat", "data": [{"time": "x"}]}]})");
  expect_error([&] { read_gtzan_beat(d.str()); }, {"classical.00003.wav.jams", "not a number"});
  write(d / "rhythm/jams/classical.00003.wav.jams", "{not json");
  expect_error([&] { read_gtzan_beat(d.str()); }, {"classical.00003.wav.jams", "malformed JSON"});
}

TEST(ReadStems, MusdbWavFoldersAndSynthStems) {
  TempDir d;
  auto track = [&](const std::string& dir, const std::string& ext) {
    for (const char* s : {"mixture", "vocals", "drums", "bass", "other"}) touch(d / (dir + "/" + s + ext));
  };
  track("musdb/train/ANiMAL - Rockshow", ".wav");          // one of musdb's 14 validation tracks
  track("musdb/train/A Classic Education - NightOwl", ".wav");
  track("musdb/test/Al James - Schoolboy Facination", ".wav");
  const ProbeDataset m = read_musdb(d / "musdb");
  EXPECT_EQ(m.type, TaskType::Stems);
  EXPECT_EQ(m.class_names, (std::vector<std::string>{"vocals", "drums", "bass", "other"}));
  ASSERT_EQ(m.items.size(), 3u);
  auto by = by_id(m);
  EXPECT_EQ(by.at("ANiMAL_-_Rockshow")->split, "valid");
  EXPECT_EQ(by.at("A_Classic_Education_-_NightOwl")->split, "train");
  EXPECT_EQ(by.at("Al_James_-_Schoolboy_Facination")->split, "test");
  EXPECT_EQ(by.at("ANiMAL_-_Rockshow")->path, d / "musdb/train/ANiMAL - Rockshow/mixture.wav");
  EXPECT_EQ(by.at("ANiMAL_-_Rockshow")->annotation, d / "musdb/train/ANiMAL - Rockshow");
  std::filesystem::remove(d / "musdb/test/Al James - Schoolboy Facination/bass.wav");
  expect_error([&] { read_musdb(d / "musdb"); }, {"Al James - Schoolboy Facination has no bass stem"});

  const char* splits[] = {"train", "valid", "test"};
  for (int k = 0; k < 3; ++k) track(std::string("synth/") + splits[k] + "/stems_00000" + std::to_string(k), ".flac");
  const ProbeDataset s = read_synth_stems(d / "synth");
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(s.items[2].split, "test");
  EXPECT_EQ(s.items[2].annotation, d / "synth/test/stems_000002");
  expect_error([&] { read_synth_stems(d / "nowhere"); }, {"expected the output of `mert synth stems`"});
}

TEST(ReadSynthFrame, BeatsAndChordLabs) {
  TempDir d;
  const char* splits[] = {"train", "valid", "test"};
  for (int s = 0; s < 3; ++s) {
    const std::string base = std::string(splits[s]) + "/beat_00000" + std::to_string(s);
    write(d / ("beat/" + base + ".beats"), "0.5\t1\n1.0\t2\n");
    write(d / ("beat/" + base + ".bpm"), "120\n");
    touch(d / ("beat/" + base + ".flac"));
    const std::string c = std::string(splits[s]) + "/chords_00000" + std::to_string(s);
    write(d / ("chords/" + c + ".lab"), "0\t1.5\tC:maj\n1.5\t3\tA:min7\n");
    touch(d / ("chords/" + c + ".flac"));
  }
  const ProbeDataset b = read_synth_beat(d / "beat");
  EXPECT_EQ(b.type, TaskType::Beat);
  ASSERT_EQ(b.items.size(), 3u);
  EXPECT_EQ(b.items[1].annotation, d / "beat/valid/beat_000001.beats");
  EXPECT_EQ(b.items[1].path, d / "beat/valid/beat_000001.flac");
  const ProbeDataset c = read_synth_chords(d / "chords");
  EXPECT_EQ(c.type, TaskType::Chords);
  EXPECT_EQ(c.class_names.size(), 25u);
  EXPECT_EQ(c.items[2].annotation, d / "chords/test/chords_000002.lab");
  write(d / "beat/train/beat_000000.beats", "0.5\nsoon\n");
  expect_error([&] { read_synth_beat(d / "beat"); }, {"beat_000000.beats:2", "'soon'"});
  write(d / "chords/valid/chords_000001.lab", "0\t1\tC:maj\n1\t2\tH:maj\n");
  expect_error([&] { read_synth_chords(d / "chords"); }, {"chords_000001.lab", "'H:maj'"});
}

TEST(ReadGtzan, OriginalAuFilesAndErrors) {
  {
    TempDir d;
    gtzan_fixture(d, "genres");
    fs::remove(d / "genres/rock/rock.00001.wav");
    touch(d / "genres/rock/rock.00001.au");
    const ProbeDataset ds = read_gtzan(d.str());
    EXPECT_EQ(by_id(ds).at("rock__rock.00001")->path, d / "genres/rock/rock.00001.au");
  }
  {
    TempDir d;
    gtzan_fixture(d, "genres");
    fs::remove(d / "genres/rock/rock.00001.wav");
    fs::remove(d / "genres/blues/blues.00012.wav");
    expect_error([&] { read_gtzan(d.str()); }, {"2 audio files missing", "blues.00012.wav", "train_filtered.txt:1"});
  }
  {
    TempDir d;
    gtzan_fixture(d, "genres");
    write(d / "test_filtered.txt", "hiphop/hiphop.00099.wav\npolka/polka.00001.wav\n");
    expect_error([&] { read_gtzan(d.str()); }, {"test_filtered.txt:2", "unknown genre 'polka'"});
  }
  {
    TempDir d;
    gtzan_fixture(d, "genres");
    write(d / "valid_filtered.txt", "jazz/jazz.00054.wav\n");
    expect_error([&] { read_gtzan(d.str()); }, {"split 'valid' is empty"});
  }
  {
    TempDir d;
    gtzan_fixture(d, "genres");
    write(d / "valid_filtered.txt", "blues/blues.00012.wav\n");
    expect_error([&] { read_gtzan(d.str()); }, {"duplicate id 'blues__blues.00012'"});
  }
  {
    TempDir d;
    gtzan_fixture(d, "genres");
    fs::remove(d / "valid_filtered.txt");
    expect_error([&] { read_gtzan(d.str()); }, {"valid_filtered.txt not found"});
  }
}

// ---------------------------------------------------------------- GiantSteps key

// Artists' jukemir buckets (sha1(lower) % 116, >= 100 valid), from Python: Alpha 3, Xi 108,
// Tau 21, Sigma 5, Iota 12, Upsilon 102, Gamma 43, Delta 15, Kappa 67. Sigma becomes valid only
// in the second closure pass (Sigma+Iota precedes Iota+Upsilon); Tau would need a third.
void giantsteps_fixture(const TempDir& d) {
  const std::string key = "giantsteps-key-dataset-c8cb8aad2cb53f165be51ea099d0dc75c64a844f";
  write(d / (key + "/annotations/key/10089.LOFI.key"), "Eb minor\n");
  write(d / (key + "/annotations/key/2000.LOFI.key"), "\nc# major\t\n");
  touch(d / (key + "/audio/10089.LOFI.mp3"));
  touch(d / "audio/2000.LOFI.mp3");  // MARBLE puts both datasets' audio in one audio/ folder
  const std::string mtg = "giantsteps-mtg-key-dataset";
  write(d / (mtg + "/annotations/beatport_metadata.txt"),
        "ID\tARTIST\tSONG TITLE\tMIX\tLABEL\tBP GENRE\tBP BPM\tBP KEY\n"
        "101\tAlpha\tA\tOriginal\tL\tHouse\t128\tA min\n"
        "102\tXi\tB\tOriginal\tL\tHouse\t128\tA min\n"
        "103\tTau, Sigma\tC\tOriginal\tL\tHouse\t128\tA min\n"
        "104\tSigma, Iota\tD\tOriginal\tL\tHouse\t128\tA min\n"
        "105\tIota, Upsilon \tE\tOriginal\tL\tHouse\t128\tA min\n"
        "106\tSigma\tF\tOriginal\tL\tHouse\t128\tA min\n"
        "107\tTau\tG\tOriginal\tL\tHouse\t128\tA min\n"
        "108\tGamma\tH\tOriginal\tL\tHouse\t128\tA min\n"
        "109\tDelta\tI\tOriginal\tL\tHouse\t128\tA min\n"
        "110\tKappa\tJ\tOriginal\tL\tHouse\t128\tA min\n");
  write(d / (mtg + "/annotations/annotations.txt"),
        "ID\tMANUAL KEY\tC\n101\tA minor\t2\n102\tD# minor\t2\n103\t-\t0\n104\tC major\t2\n105\tF# major\t2\n"
        "106\tA# minor\t2\n107\tG major\t2\n108\tE minor\t1\n109\tC minor / F# minor\t2\n110\tB major\t2\n");
  for (int id = 101; id <= 109; ++id) {
    touch(d / (mtg + "/md5/" + std::to_string(id) + ".LOFI.md5"));
    touch(d / (mtg + "/audio/" + std::to_string(id) + ".LOFI.mp3"));
  }
}

TEST(ReadGiantSteps, JukemirSplitAndKeys) {
  TempDir d;
  giantsteps_fixture(d);
  testing::internal::CaptureStderr();
  const ProbeDataset ds = read_giantsteps_key(d.str());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("2 tracks with confidence < 2 and 1 with several keys"), std::string::npos) << err;
  EXPECT_NE(err.find("1 without an md5/ entry"), std::string::npos) << err;
  EXPECT_EQ(ds.type, TaskType::Key);
  ASSERT_EQ(ds.class_names.size(), 24u);
  EXPECT_EQ(ds.class_names[0], "C major");
  EXPECT_EQ(ds.class_names[15], "Eb minor");
  ASSERT_EQ(ds.items.size(), 8u);
  expect_sorted_unique(ds);
  auto m = by_id(ds);
  const std::map<std::string, std::pair<std::string, int64_t>> want = {
      {"0000101", {"train", 21}}, {"0000102", {"valid", 15}}, {"0000104", {"valid", 0}},
      {"0000105", {"valid", 6}},  {"0000106", {"valid", 22}}, {"0000107", {"train", 7}},
      {"0010089", {"test", 15}},  {"0002000", {"test", 1}}};
  for (const auto& [id, w] : want) {
    ASSERT_TRUE(m.count(id)) << id;
    EXPECT_EQ(m.at(id)->split, w.first) << id;
    EXPECT_EQ(m.at(id)->label, w.second) << id;
  }
  EXPECT_EQ(m.at("0002000")->path, d / "audio/2000.LOFI.mp3");
  EXPECT_EQ(m.at("0000104")->path, d / "giantsteps-mtg-key-dataset/audio/104.LOFI.mp3");
}

TEST(ReadGiantSteps, Errors) {
  {
    TempDir d;
    giantsteps_fixture(d);
    write(d / "giantsteps-key-dataset-c8cb8aad2cb53f165be51ea099d0dc75c64a844f/annotations/key/10089.LOFI.key", "H major\n");
    expect_error([&] { read_giantsteps_key(d.str()); }, {"10089.LOFI.key:1", "H major"});
  }
  {
    TempDir d;
    giantsteps_fixture(d);
    fs::remove(d / "giantsteps-mtg-key-dataset/audio/105.LOFI.mp3");
    expect_error([&] { read_giantsteps_key(d.str()); }, {"1 audio file missing", "105.LOFI.mp3", "annotations.txt:6"});
  }
  {
    TempDir d;
    giantsteps_fixture(d);
    write(d / "giantsteps-mtg-key-dataset/annotations/annotations.txt", "ID\tMANUAL KEY\tC\n111\tA minor\t2\n");
    touch(d / "giantsteps-mtg-key-dataset/md5/111.LOFI.md5");
    expect_error([&] { read_giantsteps_key(d.str()); }, {"annotations.txt:2", "track 111 is not in"});
  }
  {
    TempDir d;
    giantsteps_fixture(d);
    fs::remove_all(d / "giantsteps-mtg-key-dataset");
    expect_error([&] { read_giantsteps_key(d.str()); }, {"no giantsteps-mtg-key-dataset/ folder"});
  }
}

// ---------------------------------------------------------------- MagnaTagATune

// 52 tag columns: t07 in 3 clips, t03 in 2, t00..t49 in 1 at least, t50 and t51 in none.
void mtt_fixture(const TempDir& d, const std::vector<std::pair<std::string, std::string>>& clips) {
  std::string csv = "\"clip_id\"";
  for (int t = 0; t < 52; ++t) csv += "\t\"t" + std::string(t < 10 ? "0" : "") + std::to_string(t) + "\"";
  csv += "\t\"mp3_path\"\n";
  for (size_t i = 0; i < clips.size(); ++i) {
    csv += "\"" + clips[i].first + "\"";
    for (int t = 0; t < 52; ++t) {
      const bool on = (i == 0 && t < 50) || (i == 1 && (t == 7 || t == 3)) || (i == 2 && t == 7);
      csv += on ? "\t\"1\"" : "\t\"0\"";
    }
    csv += "\t\"" + clips[i].second + "\"\n";
  }
  write(d / "annotations_final.csv", csv);
}

TEST(ReadMtt, TopFiftyAndHexSplit) {
  TempDir d;
  mtt_fixture(d, {{"2", "0/a.mp3"}, {"6", "b/b.mp3"}, {"10", "c/c.mp3"}, {"15", "d/d.mp3"}});
  for (const char* f : {"0/a.mp3", "c/c.mp3", "d/d.mp3"}) touch(d / f);
  touch(d / "mp3/b/b.mp3");  // MARBLE's download script unzips into mp3/
  const ProbeDataset ds = read_mtt(d.str());
  EXPECT_EQ(ds.type, TaskType::Multilabel);
  ASSERT_EQ(ds.class_names.size(), 50u);
  EXPECT_EQ(ds.class_names[0], "t07");
  EXPECT_EQ(ds.class_names[1], "t03");
  EXPECT_EQ(ds.class_names[2], "t00");
  EXPECT_EQ(ds.class_names[49], "t49");
  ASSERT_EQ(ds.items.size(), 4u);
  expect_sorted_unique(ds);
  auto m = by_id(ds);
  EXPECT_EQ(m.at("2")->split, "train");
  EXPECT_EQ(m.at("6")->split, "train");
  EXPECT_EQ(m.at("6")->path, d / "mp3/b/b.mp3");
  EXPECT_EQ(m.at("10")->split, "valid");
  EXPECT_EQ(m.at("15")->split, "test");
  EXPECT_EQ(m.at("6")->targets, (std::vector<float>{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(m.at("15")->targets, std::vector<float>(50, 0.f));  // no top-50 tag: kept
  EXPECT_EQ(m.at("2")->targets, std::vector<float>(50, 1.f));
}

TEST(ReadMtt, Errors) {
  {
    TempDir d;
    mtt_fixture(d, {{"2", "0/a.mp3"}, {"10", "c/c.mp3"}, {"15", "g/d.mp3"}});
    expect_error([&] { read_mtt(d.str()); }, {"annotations_final.csv:4", "hex digit"});
  }
  {
    TempDir d;
    mtt_fixture(d, {{"2", "0/a.mp3"}, {"10", "c/c.mp3"}, {"15", "f/d.mp3"}});
    for (const char* f : {"0/a.mp3", "c/c.mp3"}) touch(d / f);
    expect_error([&] { read_mtt(d.str()); }, {"1 audio file missing", "f/d.mp3", "annotations_final.csv:4"});
  }
  {
    TempDir d;
    mtt_fixture(d, {{"2", "0/a.mp3"}, {"15", "f/d.mp3"}});
    for (const char* f : {"0/a.mp3", "f/d.mp3"}) touch(d / f);
    expect_error([&] { read_mtt(d.str()); }, {"split 'valid' is empty"});
  }
  {
    TempDir d;
    mtt_fixture(d, {{"2", "0/a.mp3"}});
    std::string row = "\"3\"";
    for (int t = 0; t < 52; ++t) row += t == 5 ? "\t\"2\"" : "\t\"0\"";
    write(d / "annotations_final.csv", [&] {
      std::ifstream in(d / "annotations_final.csv");
      return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }() + row + "\t\"e/x.mp3\"\n" + "\"4\"\t\"1\"\t\"e/y.mp3\"\n");
    expect_error([&] { read_mtt(d.str()); }, {"annotations_final.csv:3", "tag 't05' is '2'"});
    const auto lines = detail::read_lines(d / "annotations_final.csv");
    write(d / "annotations_final.csv", lines[0].text + "\n" + lines[1].text + "\n" + lines[3].text + "\n");
    expect_error([&] { read_mtt(d.str()); }, {"annotations_final.csv:3", "3 fields, the header has 54"});
  }
}

// ---------------------------------------------------------------- Emomusic

// jukemir's artist buckets (sha1 of the normalised name % 10; 8, 9 = valid), from Python:
// "the beatles" 6, "nina simone" 9, "bjrk" 1, "sigur rs" 9, "queen" 7, "muse" 3, "abba" 9, "acdc" 0.
void emo_fixture(const TempDir& d, const std::string& ann) {
  write(d / (ann + "songs_info.csv"),
        "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),Genre,Mediaeval 2013 set\n"
        "2,2.mp3,The Beatles,\"Help, I need somebody\",0.30,1.15,Rock,development\n"
        "3,3.mp3,Nina Simone,Song,0.10,0.55,Blues,development\n"
        "4,4.mp3,Bj\xC3\xB6rk,Joga,1.00,1.45,Pop,development\n"
        "5,5.mp3,\"Sigur R\xC3\xB3s\",Hoppipolla,0.00,0.45,Rock,development\n"
        "6,6.mp3,Queen,Bohemian,0.00,0.45,Rock,development\n"
        "7,7.mp3,Muse,Uprising,0.00,0.45,Rock,evaluation\n"
        "8,8.mp3,Abba,Waterloo,0.00,0.45,Pop,development\n"
        "9,9.mp3,AC/DC,Thunderstruck,0.00,0.45,Rock,evaluation\n");
  write(d / (ann + "static_annotations.csv"),
        "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n"
        "2,5.0,1.1,6.0,1.2\n3,3.0,1.0,4.0,1.0\n4,4.0,1.0,2.0,1.0\n5,6.0,1.0,4.0,1.0\n6,7.0,1.0,1.0,1.0\n7,1.0,1.0,9.0,1.0\n"
        "9,2.0,1.0,2.0,1.0\n");
  for (int id = 2; id <= 9; ++id) touch(d / ("clips_45seconds/" + std::to_string(id) + ".mp3"));
}

TEST(ReadEmo, SplitsAndStandardisedTargets) {
  for (const std::string ann : {"annotations/", ""}) {
    TempDir d;
    emo_fixture(d, ann);
    testing::internal::CaptureStderr();
    const ProbeDataset ds = read_emo(d.str());
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("1 songs of songs_info.csv have no static annotation"), std::string::npos) << err;
    EXPECT_EQ(ds.type, TaskType::Regression);
    EXPECT_EQ(ds.class_names, (std::vector<std::string>{"arousal", "valence"}));
    ASSERT_EQ(ds.items.size(), 7u);
    expect_sorted_unique(ds);
    auto m = by_id(ds);
    EXPECT_EQ(m.at("0002")->split, "train");
    EXPECT_EQ(m.at("0003")->split, "valid");
    EXPECT_EQ(m.at("0004")->split, "train");
    EXPECT_EQ(m.at("0005")->split, "valid");
    EXPECT_EQ(m.at("0006")->split, "train");  // bucket 7: the last train bucket
    EXPECT_EQ(m.at("0007")->split, "test");
    EXPECT_EQ(m.at("0009")->split, "test");
    EXPECT_EQ(m.at("0004")->path, d / "clips_45seconds/4.mp3");
    // Non-test songs: arousal 5,3,4,6,7 (mean 5, population sd sqrt(2)); valence 6,4,2,4,1
    // (mean 3.4, sd sqrt(3.04)).
    EXPECT_NEAR(m.at("0007")->targets[0], (1.0 - 5.0) / std::sqrt(2.0), 1e-5);
    EXPECT_NEAR(m.at("0007")->targets[1], (9.0 - 3.4) / std::sqrt(3.04), 1e-5);
    EXPECT_NEAR(m.at("0002")->targets[0], 0.0, 1e-6);
    EXPECT_NEAR(m.at("0002")->targets[1], (6.0 - 3.4) / std::sqrt(3.04), 1e-5);
  }
}

TEST(ReadEmo, Errors) {
  {
    TempDir d;
    emo_fixture(d, "annotations/");
    fs::remove(d / "clips_45seconds/5.mp3");
    expect_error([&] { read_emo(d.str()); }, {"1 audio file missing", "clips_45seconds/5.mp3", "static_annotations.csv:5"});
  }
  {
    TempDir d;
    emo_fixture(d, "annotations/");
    write(d / "annotations/static_annotations.csv", "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n2,high,1,6,1\n");
    expect_error([&] { read_emo(d.str()); }, {"static_annotations.csv:2", "mean_arousal 'high'"});
  }
  {
    TempDir d;
    emo_fixture(d, "annotations/");
    write(d / "annotations/static_annotations.csv",
          "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n2,5,1,6,1\n4,4,1,2,1\n6,7,1,1,1\n");
    expect_error([&] { read_emo(d.str()); }, {"split 'valid' is empty"});
  }
}

// ---------------------------------------------------------------- VocalSet

// Python: h = int(sha1(rel).hexdigest(), 16) % 100 for these recordings is 40, 7, 58, 91, 8, 22.
void vocalset_fixture(const TempDir& d) {
  wav(d / "FULL/f1/arpeggios/belt/f1_arpeggios_belt_a.wav", 7.0);          // h 40: S valid, T train; 2 segments
  wav(d / "FULL/f1/arpeggios/vibrato/f1_arpeggios_vibrato_a.wav", 3.5);    // h 7:  S test,  T valid; 1
  wav(d / "FULL/f1/arpeggios/vibrato/f1_arpeggios_vibrato_e.wav", 6.0);    // h 58: S train, T train; 2
  wav(d / "FULL/f1/arpeggios/fast_forte/f1_arpeggios_fast_forte_a.wav", 4);  // h 91: S train; not a T class
  wav(d / "FULL/f2/arpeggios/belt/f2_arpeggios_belt_e.wav", 9.5);          // h 8:  S test,  T test (f2); 3
  wav(d / "FULL/m1/scales/vocal_fry/m1_scales_vocal_fry_a.wav", 2.0);      // shorter than 3 s: no segment
  wav(d / "FULL/m1/arpeggios/belt/m1_arpeggios_belt_e.wav", 3.0);          // h 22: S valid, T valid; 1
  wav(d / "FULL/m1/arpeggios/belt/m1_arpeggios_belt_e(1).wav", 3.0);       // the shipped duplicate: skipped
  touch(d / "FULL/f1/arpeggios/belt/._f1_arpeggios_belt_a.wav");           // macOS resource fork: skipped
}

TEST(ReadVocalSet, SingerSegmentsAndSplit) {
  TempDir d;
  vocalset_fixture(d);
  testing::internal::CaptureStderr();
  const ProbeDataset ds = read_vocalset_singer(d.str());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("1 recordings shorter than 3 s"), std::string::npos) << err;
  EXPECT_NE(err.find("1 duplicate recording"), std::string::npos) << err;
  ASSERT_EQ(ds.class_names.size(), 20u);
  EXPECT_EQ(ds.class_names[9], "m1");
  ASSERT_EQ(ds.items.size(), 10u);
  expect_sorted_unique(ds);
  EXPECT_EQ(split_counts(ds), (std::map<std::string, int>{{"test", 4}, {"train", 3}, {"valid", 3}}));
  auto m = by_id(ds);
  const ProbeItem* s2 = m.at("f2__arpeggios__belt__f2_arpeggios_belt_e__002");
  EXPECT_EQ(s2->label, 1);
  EXPECT_EQ(s2->split, "test");
  EXPECT_DOUBLE_EQ(s2->start_sec, 6.0);
  EXPECT_DOUBLE_EQ(s2->duration_sec, 3.0);
  EXPECT_EQ(s2->path, d / "FULL/f2/arpeggios/belt/f2_arpeggios_belt_e.wav");
  EXPECT_EQ(m.count("f2__arpeggios__belt__f2_arpeggios_belt_e__003"), 0u);
  EXPECT_EQ(m.count("f1__arpeggios__vibrato__f1_arpeggios_vibrato_e__001"), 1u);  // exactly 6 s: 2 segments
  EXPECT_EQ(m.at("f1__arpeggios__fast_forte__f1_arpeggios_fast_forte_a__000")->split, "train");
  EXPECT_EQ(m.at("m1__arpeggios__belt__m1_arpeggios_belt_e__000")->label, 9);
  EXPECT_EQ(m.at("m1__arpeggios__belt__m1_arpeggios_belt_e__000")->split, "valid");
  // A recording's segments never straddle splits.
  std::map<std::string, std::string> split_of_path;
  for (const auto& it : ds.items) {
    auto [pos, fresh] = split_of_path.emplace(it.path, it.split);
    EXPECT_EQ(pos->second, it.split) << it.path;
  }
}

TEST(ReadVocalSet, TechniqueSubsetAndTestSingers) {
  TempDir d;
  vocalset_fixture(d);
  const ProbeDataset ds = read_vocalset_technique(d.str());
  ASSERT_EQ(ds.class_names.size(), 10u);
  EXPECT_EQ(ds.class_names[0], "belt");
  EXPECT_EQ(ds.class_names[8], "vibrato");
  ASSERT_EQ(ds.items.size(), 9u);
  EXPECT_EQ(split_counts(ds), (std::map<std::string, int>{{"test", 3}, {"train", 4}, {"valid", 2}}));
  auto m = by_id(ds);
  EXPECT_EQ(m.at("f2__arpeggios__belt__f2_arpeggios_belt_e__000")->split, "test");
  EXPECT_EQ(m.at("f1__arpeggios__vibrato__f1_arpeggios_vibrato_a__000")->label, 8);
  EXPECT_EQ(m.at("f1__arpeggios__vibrato__f1_arpeggios_vibrato_a__000")->split, "valid");
  EXPECT_EQ(m.at("f1__arpeggios__belt__f1_arpeggios_belt_a__001")->split, "train");
  EXPECT_DOUBLE_EQ(m.at("f1__arpeggios__belt__f1_arpeggios_belt_a__001")->start_sec, 3.0);
  EXPECT_EQ(m.count("f1__arpeggios__fast_forte__f1_arpeggios_fast_forte_a__000"), 0u);
}

TEST(ReadVocalSet, Errors) {
  {
    TempDir d;
    vocalset_fixture(d);
    wav(d / "FULL/x3/arpeggios/belt/x3_a.wav", 3);
    expect_error([&] { read_vocalset_singer(d.str()); }, {"unknown singer folder", "x3"});
  }
  {
    TempDir d;
    vocalset_fixture(d);
    fs::remove_all(d / "FULL/f2");
    expect_error([&] { read_vocalset_technique(d.str()); }, {"split 'test' is empty"});
  }
  {
    TempDir d;
    vocalset_fixture(d);
    write(d / "FULL/f1/arpeggios/belt/f1_arpeggios_belt_a.wav", "not a wav");
    expect_error([&] { read_vocalset_singer(d.str()); }, {"f1_arpeggios_belt_a.wav", "cannot read the audio header"});
  }
  {
    TempDir d;
    expect_error([&] { read_vocalset_singer(d.str()); }, {"no FULL/ folder"});
  }
}

// ---------------------------------------------------------------- MTG-Jamendo

void mtg_fixture(const TempDir& d) {
  const std::string dir = "data/splits/split-0/";
  const std::string head = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n";
  write(d / (dir + "autotagging_genre-train.tsv"),
        head + "track_0000214\tartist_000014\talbum_000031\t14/214.mp3\t124.6\tgenre---punkrock\n"
               "track_0000215\tartist_000014\talbum_000031\t15/215.mp3\t98.1\tgenre---rock\tgenre---alternative\n");
  write(d / (dir + "autotagging_genre-validation.tsv"),
        head + "track_0000300\tartist_000020\talbum_000040\t00/300.mp3\t200.0\tgenre---rock\n");
  write(d / (dir + "autotagging_genre-test.tsv"),
        head + "track_0000401\tartist_000021\talbum_000041\t01/401.mp3\t180.0\tgenre---jazz\tgenre---rock\n");
  touch(d / "14/214.mp3");                 // full quality under root
  touch(d / "audio/15/215.mp3");           // under root/audio
  touch(d / "audio-low/00/300.low.mp3");   // MARBLE's low-quality download
  touch(d / "01/401.low.mp3");
}

TEST(ReadMtgJamendo, TagsFromSplitFiles) {
  TempDir d;
  mtg_fixture(d);
  const ProbeDataset ds = read_mtg_genre(d.str());
  EXPECT_EQ(ds.type, TaskType::Multilabel);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"genre---alternative", "genre---jazz", "genre---punkrock", "genre---rock"}));
  ASSERT_EQ(ds.items.size(), 4u);
  expect_sorted_unique(ds);
  auto m = by_id(ds);
  EXPECT_EQ(m.at("track_0000215")->targets, (std::vector<float>{1, 0, 0, 1}));
  EXPECT_EQ(m.at("track_0000401")->targets, (std::vector<float>{0, 1, 0, 1}));
  EXPECT_EQ(m.at("track_0000300")->split, "valid");
  EXPECT_EQ(m.at("track_0000401")->split, "test");
  EXPECT_EQ(m.at("track_0000214")->path, d / "14/214.mp3");
  EXPECT_EQ(m.at("track_0000215")->path, d / "audio/15/215.mp3");
  EXPECT_EQ(m.at("track_0000300")->path, d / "audio-low/00/300.low.mp3");
  EXPECT_EQ(m.at("track_0000401")->path, d / "01/401.low.mp3");
}

TEST(ReadMtgJamendo, Errors) {
  {
    TempDir d;
    mtg_fixture(d);
    expect_error([&] { read_mtg_mood(d.str()); }, {"autotagging_moodtheme-train.tsv not found"});
  }
  {
    TempDir d;
    mtg_fixture(d);
    fs::remove(d / "audio/15/215.mp3");
    expect_error([&] { read_mtg_genre(d.str()); }, {"1 audio file missing", "15/215.mp3", "autotagging_genre-train.tsv:3"});
  }
  {
    TempDir d;
    mtg_fixture(d);
    write(d / "data/splits/split-0/autotagging_genre-validation.tsv", "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n");
    expect_error([&] { read_mtg_genre(d.str()); }, {"split 'valid' is empty"});
  }
  {
    TempDir d;
    mtg_fixture(d);
    write(d / "data/splits/split-0/autotagging_genre-test.tsv",
          "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\ntrack_0000401\ta\tb\t01/401.mp3\t1\tmood/theme---happy\n");
    expect_error([&] { read_mtg_genre(d.str()); }, {"autotagging_genre-test.tsv:2", "mood/theme---happy", "genre---"});
  }
}

// ---------------------------------------------------------------- `mert synth` layouts

TEST(ReadSynthLayouts, KeyTempoTagsPitch) {
  TempDir d;
  const char* keys[3] = {"Eb minor", "C major", "B minor"};
  const char* splits[3] = {"train", "valid", "test"};
  for (int s = 0; s < 3; ++s) {
    const std::string stem = std::string(splits[s]) + "/key_00000" + std::to_string(s);
    write(d / (stem + ".key"), std::string(keys[s]) + "\n");
    touch(d / (stem + (s == 1 ? ".wav" : ".flac")));  // `mert synth --wav` writes WAV
    const std::string beat = std::string(splits[s]) + "/beat_00000" + std::to_string(s);
    write(d / (beat + ".bpm"), std::to_string(90 + 10 * s) + ".500\n");
    write(d / (beat + ".beats"), "0.5\t1\n");
    touch(d / (beat + ".flac"));
  }
  const ProbeDataset k = read_synth_key(d.str());
  EXPECT_EQ(k.type, TaskType::Key);
  ASSERT_EQ(k.items.size(), 3u);
  EXPECT_EQ(k.items[0].id, "key_000000");
  EXPECT_EQ(k.items[0].label, 15);
  EXPECT_EQ(k.items[1].label, 0);
  EXPECT_EQ(k.items[1].path, d / "valid/key_000001.wav");
  EXPECT_EQ(k.items[2].label, 23);
  EXPECT_EQ(k.items[2].split, "test");

  const ProbeDataset t = read_synth_tempo(d.str());
  EXPECT_EQ(t.type, TaskType::Regression);
  EXPECT_EQ(t.class_names, std::vector<std::string>{"bpm"});
  ASSERT_EQ(t.items.size(), 3u);
  EXPECT_FLOAT_EQ(t.items[2].targets[0], 110.5f);
  EXPECT_EQ(t.items[2].split, "test");

  write(d / "annotations_final.csv",
        "clip_id\tpiano\tdrums\tmp3_path\ntags_000000\t1\t0\ttrain/tags_000000.flac\n"
        "tags_000001\t0\t0\tvalid/tags_000001.flac\ntags_000002\t1\t1\ttest/tags_000002.flac\n");
  for (const char* f : {"train/tags_000000.flac", "valid/tags_000001.flac", "test/tags_000002.flac"}) touch(d / f);
  const ProbeDataset g = read_synth_tags(d.str());
  EXPECT_EQ(g.class_names, (std::vector<std::string>{"piano", "drums"}));
  ASSERT_EQ(g.items.size(), 3u);
  EXPECT_EQ(g.items[1].split, "valid");  // not the MTT hex rule ('t' is no hex digit anyway)
  EXPECT_EQ(g.items[2].targets, (std::vector<float>{1, 1}));

  TempDir n;
  nsynth_fixture(n, ".flac");
  const ProbeDataset p = read_synth_pitch(n.str());
  EXPECT_EQ(p.class_names.size(), 128u);
  EXPECT_EQ(by_id(p).at("guitar_electronic_021-064-075")->path, n / "nsynth-valid/audio/guitar_electronic_021-064-075.flac");
  EXPECT_EQ(read_synth_instrument(n.str()).items.size(), 5u);
}

TEST(ReadSynthLayouts, Errors) {
  {
    TempDir d;
    for (const char* s : {"train", "valid", "test"}) {
      write(d / (std::string(s) + "/key_000000.key"), "C major\n");
      touch(d / (std::string(s) + "/key_000000.flac"));
    }
    expect_error([&] { read_synth_key(d.str()); }, {"duplicate id 'key_000000'"});
  }
  {
    TempDir d;
    for (const char* s : {"train", "valid", "test"}) {
      write(d / (std::string(s) + "/key_" + s + ".key"), std::string(s) == "valid" ? "C lydian\n" : "C major\n");
      touch(d / (std::string(s) + "/key_" + s + ".flac"));
    }
    expect_error([&] { read_synth_key(d.str()); }, {"valid/key_valid.key:1", "C lydian"});
  }
  {
    TempDir d;
    for (const char* s : {"train", "valid", "test"}) {
      write(d / (std::string(s) + "/beat_" + s + ".bpm"), std::string(s) == "test" ? "-3\n" : "120\n");
      touch(d / (std::string(s) + "/beat_" + s + ".flac"));
    }
    expect_error([&] { read_synth_tempo(d.str()); }, {"test/beat_test.bpm:1", "'-3'"});
  }
  {
    TempDir d;
    for (const char* s : {"train", "test"}) {
      write(d / (std::string(s) + "/key_" + s + ".key"), "C major\n");
      touch(d / (std::string(s) + "/key_" + s + ".flac"));
    }
    fs::create_directories(d / "valid");
    expect_error([&] { read_synth_key(d.str()); }, {"split 'valid' is empty"});
  }
  {
    TempDir d;
    write(d / "annotations_final.csv", "clip_id\tpiano\tmp3_path\ntags_000000\t1\tdev/tags_000000.flac\n");
    expect_error([&] { read_synth_tags(d.str()); }, {"annotations_final.csv:2", "train/, valid/ or test/"});
  }
  {
    TempDir d;
    expect_error([&] { read_synth_key(d.str()); }, {"train not found", "mert synth key"});
  }
}

}  // namespace
