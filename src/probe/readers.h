#pragma once
// Dataset readers of `mert probe`: one function per task, each reading one published on-disk
// layout (docs/PROBE.md "Tasks and data layouts" has the trees, split rules and labels). Plain
// C++17, no libtorch. Every reader returns items sorted by id with all three splits non-empty,
// checks that every referenced audio file exists, and throws mert::Error naming the file (and
// line, or JSON key) for anything malformed; what it skips on purpose is printed to stderr as a
// "probe: note:" line.
#include <string>
#include <vector>

#include "probe/probe_dataset.h"

namespace mert::probe {

// NSynth (official layout): nsynth-{train,valid,test}/examples.json + audio/<note_str>.wav.
ProbeDataset read_nsynth_pitch(const std::string& root);       // 128 classes, class k = MIDI k
ProbeDataset read_nsynth_instrument(const std::string& root);  // 11 instrument families

// GTZAN genres/<genre>/<genre>.000NN.wav (or genres_original/, Data/genres_original/) with the
// fault-filtered lists {train,valid,test}_filtered.txt in root.
ProbeDataset read_gtzan(const std::string& root);
// The same items with GTZAN-Rhythm beat annotations (frame level): <root>/rhythm/jams/<track>.wav.jams
// (JAMS, the v2 release; or <root>/jams/) or <root>/beats/<track>.beats; tracks without one are
// left out with a note.
ProbeDataset read_gtzan_beat(const std::string& root);
// A beat annotation's times: a JAMS file (its first 'beat' or 'beat_position' annotation) or a
// beat list as metrics::read_beat_times reads it. Throws mert::Error naming the file.
std::vector<double> read_beat_annotation(const std::string& path);

// test: giantsteps-key-dataset*/; train/valid: giantsteps-mtg-key-dataset*/ (jukemir rules).
ProbeDataset read_giantsteps_key(const std::string& root);

// MagnaTagATune: annotations_final.csv + mp3 folders 0..f (top-50 tags, hex-digit split).
ProbeDataset read_mtt(const std::string& root);

// Emomusic: songs_info.csv + static_annotations.csv (root or root/annotations) +
// clips_45seconds/<id>.mp3. Regression, outputs {"arousal", "valence"}.
ProbeDataset read_emo(const std::string& root);

// VocalSet FULL/<singer>/<context>/<technique>/*.wav, as 3 s segments of each recording.
ProbeDataset read_vocalset_singer(const std::string& root);
ProbeDataset read_vocalset_technique(const std::string& root);

// MTG-Jamendo split-0: data/splits/split-0/autotagging_<subset>-{train,validation,test}.tsv.
ProbeDataset read_mtg_genre(const std::string& root);
ProbeDataset read_mtg_instrument(const std::string& root);
ProbeDataset read_mtg_mood(const std::string& root);
ProbeDataset read_mtg_top50(const std::string& root);

// `mert synth` outputs (docs/SYNTH.md).
ProbeDataset read_synth_pitch(const std::string& root);       // `synth pitch`: NSynth layout, FLAC
ProbeDataset read_synth_instrument(const std::string& root);  // same data, 11 families
ProbeDataset read_synth_key(const std::string& root);         // `synth key`: <split>/key_*.key
ProbeDataset read_synth_tags(const std::string& root);        // `synth tags`: annotations_final.csv
ProbeDataset read_synth_tempo(const std::string& root);       // `synth beat`: .bpm, regression
ProbeDataset read_synth_beat(const std::string& root);        // `synth beat`: .beats, frame level
ProbeDataset read_synth_chords(const std::string& root);      // `synth chords`: .lab, frame level

// Source separation (TaskType::Stems): an item is a track folder (ProbeItem::annotation) whose
// mixture is the audio; targets vocals, drums, bass, other (stem_target_names()).
ProbeDataset read_synth_stems(const std::string& root);  // `synth stems`: <split>/stems_NNNNNN/*.flac
// MUSDB18 as WAV folders: train/<track>/, test/<track>/; musdb's 14 validation tracks from train.
ProbeDataset read_musdb(const std::string& root);
const std::vector<std::string>& stem_target_names();
// <track_dir>/<source>.flac, else .wav.
std::string stem_file(const std::string& track_dir, const std::string& source);

// The layouts shared by a real dataset and its `mert synth` counterpart.
enum class NsynthLabel { Pitch, InstrumentFamily };
// `name` prefixes messages; audio is <note_str> + the first of `audio_exts` that exists.
ProbeDataset read_nsynth_layout(const std::string& root, NsynthLabel label, const std::string& name,
                                const std::vector<std::string>& audio_exts);
enum class MttSplit {
  HexFolder,       // MTT: first hex digit of mp3_path, 0-b train, c valid, d-f test; top-50 tags
  FirstComponent,  // synth tags: mp3_path's first component is the split; every tag column
};
ProbeDataset read_mtt_layout(const std::string& root, MttSplit rule, const std::string& name);

}  // namespace mert::probe
