// Frame-level probe targets: beat frames (numpy rounding, widening, out-of-range beats), the
// major/minor reduction of chords as mir_eval's `majmin` comparison sees them, chord frames by
// their centres, and frames merged back into segments.
#include <gtest/gtest.h>

#include "mert/error.h"
#include "probe/frame_targets.h"

using namespace mert::probe;
namespace m = mert::metrics;

namespace {

std::vector<int64_t> ones_at(int64_t n, std::initializer_list<int64_t> at) {
  std::vector<int64_t> v(static_cast<size_t>(n), 0);
  for (int64_t i : at) v[static_cast<size_t>(i)] = 1;
  return v;
}

}  // namespace

TEST(FrameTargets, BeatFramesRoundHalfToEvenAndWiden) {
  // 0.5 / 75 s -> frame 0.5 -> 0 (even); 1.5 -> 2; 2.5 -> 2; 10 -> 10.
  EXPECT_EQ(beat_frame_targets({0.5 / 75, 1.5 / 75, 10.0 / 75}, 12, 75, 0), ones_at(12, {0, 2, 10}));
  EXPECT_EQ(beat_frame_targets({2.5 / 75}, 5, 75, 0), ones_at(5, {2}));
  // Widening by one frame, clipped at both ends; a beat past the end or before 0 is dropped.
  EXPECT_EQ(beat_frame_targets({0.0, 5.0 / 75, 11.0 / 75, 20.0 / 75, -1.0}, 12, 75, 1), ones_at(12, {0, 1, 4, 5, 6, 10, 11}));
  EXPECT_EQ(beat_frame_targets({}, 3, 75, 2), ones_at(3, {}));
  EXPECT_THROW(beat_frame_targets({0.1}, 3, 0, 0), mert::Error);
}

TEST(FrameTargets, MajminClassesAsMirEvalCompares) {
  const auto names = majmin_class_names();
  ASSERT_EQ(names.size(), 25u);
  EXPECT_EQ(names[0], "N");
  EXPECT_EQ(names[1 + 3], "Eb:maj");
  EXPECT_EQ(names[13 + 9], "A:min");
  auto cls = [](const char* label) { return majmin_class(m::encode_chord(label)); };
  EXPECT_EQ(cls("N"), 0);
  EXPECT_EQ(cls("X"), -1);
  EXPECT_EQ(cls("C:maj"), 1);
  EXPECT_EQ(cls("D"), 3);           // shorthand major
  EXPECT_EQ(cls("A:7"), 10);        // a dominant seventh contains the major triad
  EXPECT_EQ(cls("F:maj7"), 6);
  EXPECT_EQ(cls("E:min7"), 17);
  EXPECT_EQ(cls("B:min/b3"), 24);   // inversions keep the quality
  EXPECT_EQ(cls("B:sus2"), -1);
  EXPECT_EQ(cls("G:sus4"), -1);
  EXPECT_EQ(cls("C:dim"), -1);
  EXPECT_EQ(cls("C:aug"), -1);
  EXPECT_EQ(cls("C:hdim7"), -1);
  // The names decode to their own classes.
  for (size_t c = 0; c < names.size(); ++c) EXPECT_EQ(cls(names[c].c_str()), static_cast<int>(c)) << names[c];
}

TEST(FrameTargets, ChordFramesByCentre) {
  // fps 10: frame t is [t/10, (t+1)/10), centre (t + 0.5)/10.
  const std::vector<m::ChordSegment> ref = {{0.25, 0.5, "C:maj"}, {0.0, 0.25, "N"}, {0.5, 0.7, "D:sus4"}, {0.7, 0.9, "A:min"}};
  const std::vector<int64_t> y = chord_frame_targets(ref, 11, 10);
  const std::vector<int64_t> expect = {0, 0, 1, 1, 1, kIgnoreFrame, kIgnoreFrame, 22, 22, kIgnoreFrame, kIgnoreFrame};
  // Centres: 0.05 N, 0.15 N, 0.25 C (segment start is inclusive), 0.35 C, 0.45 C, 0.55 sus4,
  // 0.65 sus4, 0.75 Am, 0.85 Am, 0.95 and 1.05 outside every segment.
  EXPECT_EQ(y, expect);
  EXPECT_THROW(chord_frame_targets({{0, 1, "C:what"}}, 3, 10), mert::Error);
}

TEST(FrameTargets, FramesToSegments) {
  const auto names = majmin_class_names();
  const auto segs = frames_to_segments({0, 0, 1, 1, 1, 14}, 4, names);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].label, "N");
  EXPECT_EQ(segs[0].start, 0.0);
  EXPECT_EQ(segs[0].end, 0.5);
  EXPECT_EQ(segs[1].label, "C:maj");
  EXPECT_EQ(segs[1].end, 1.25);
  EXPECT_EQ(segs[2].label, "C#:min");
  EXPECT_EQ(segs[2].end, 1.5);
  EXPECT_TRUE(frames_to_segments({}, 75, names).empty());
  EXPECT_THROW(frames_to_segments({25}, 75, names), mert::Error);
}
