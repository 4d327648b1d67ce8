// Training-sample synthesis: SBI, geometry, colour and BI as in the official
// code (docs/IMPLEMENTATION.md, Data pipeline and synthesis).
// Contract between the synthesis code (sbi.cc, bi.cc, augment.cc) and the
// trainer: everything here is deterministic given the Rng, so a sample is a
// pure function of (image, landmarks, seed) and training resumes exactly no
// matter how many loader threads run.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace laa::synth {

// SplitMix64-seeded xoshiro256** generator: small, fast, state copyable.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next_u64();
  double uniform();                      // [0, 1)
  double uniform(double lo, double hi);  // [lo, hi)
  int randint(int lo, int hi_exclusive); // numpy.random.randint semantics
  bool chance(double p);                 // true with probability p
  std::array<uint64_t, 4> state() const { return s_; }

 private:
  std::array<uint64_t, 4> s_;
};

// Seed for one sample: mixes the run seed, the epoch and the sample's index
// in the epoch (so the same sample is drawn whatever thread makes it).
uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index);

struct PairOptions {
  int input_size = 384;   // network input (released configs: 384)
  int target_size = 96;   // heatmap / consistency grid (input_size / 4)
  bool train = true;      // hflip, geometry and colour (SBI step 9) only when true
  // Added for tests and research: also return the blend mask M (and, for BI,
  // the background) carried through the same steps (TrainingPair::mask...).
  bool debug = false;
  // BI only: probability of a blended (fake) sample (official: 0.5).
  double bi_fake_probability = 0.5;
};

// One SBI item (steps 2–9 of docs/IMPLEMENTATION.md, SBI online synthesis): a
// real image and its self-blended fake made from the same aligned face crop. Images are RGB uint8 input_size²;
// boundaries are uint8 target_size² B = trunc(255·4M(1−M)) after the final
// warp (all zeros for the real one), ready for laa::encode_targets.
struct TrainingPair {
  cv::Mat real, fake;                    // CV_8UC3, RGB
  cv::Mat boundary_real, boundary_fake;  // CV_8UC1
  // Only with PairOptions::debug: the unscaled blend mask M (CV_32FC1, the
  // mask B is made from) after the same crop/geometry, warped to input_size
  // (`mask`) and to target_size (`mask_target`) like the images / boundaries.
  cv::Mat mask, mask_target;
};

// rgb: aligned face crop (CV_8UC3 RGB, any size, normally 256²);
// landmarks: the 68 dlib points in that crop's pixel coordinates.
// Throws laa::Error(EINVAL) for wrong sizes/types or < 68 points.
TrainingPair make_sbi_pair(const cv::Mat& rgb, const std::vector<cv::Point2f>& landmarks, Rng& rng,
                           const PairOptions& opt);

// One BI item (official `face_forensic_hm.py`): with p 0.5 a real (boundary
// zeros, label 0), else a Face X-ray blend of `partner` (the foreground face, nearest landmarks)
// into `rgb` (label 1).
struct TrainingSample {
  cv::Mat image;     // CV_8UC3 RGB input_size²
  cv::Mat boundary;  // CV_8UC1 target_size²
  int label = 0;
  // Only with PairOptions::debug: M (CV_32FC1, zeros for a real) at
  // input_size / target_size, and the background face taken through exactly
  // the steps the image went through, minus the blend (CV_8UC3 input_size²).
  cv::Mat mask, mask_target, background;
};
TrainingSample make_bi_sample(const cv::Mat& rgb, const std::vector<cv::Point2f>& landmarks,
                              const cv::Mat& partner_rgb, const std::vector<cv::Point2f>& partner_landmarks,
                              Rng& rng, const PairOptions& opt);

}  // namespace laa::synth
