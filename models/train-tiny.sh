#!/bin/bash
# Regenerate the bundled tiny-shapes model from scratch on CPU (about an hour and a quarter on 2
# free cores), exactly the stages that produced the committed bundle:
#   1. two FSQ autoencoders on world images, in parallel, one thread each:
#      - the bundle's VQGAN: downsampling 16, latent 8x4x4 (vqgan.pt);
#      - a finer one, downsampling 8, latent 4x8x8 (vqgan8.pt, the previous bundle's VQGAN), used
#        only to blur half of the CLIP's training triples through a reconstruction;
#   2. the CLIP from scratch: contrastive with hard negative captions plus triples of images that
#      differ only in shape (with a 3-way shape cross-entropy); stopped at step 1500 of a 3000-step
#      schedule (zero-shot on clean images: colour 100 %, shape 99 %);
#   3. 6 rounds of CLIP training on the VQGAN-CLIP loop's own renders, labelled with the judge's
#      pixel rules (a render is a negative for its prompt unless it shows it);
#   4. export to models/tiny-shapes/ (manifest, graphs, vocab).
# Logs and checkpoints: models/.work/ (git-ignored). Every stage is seeded. Torch runs with
# OMP_WAIT_POLICY=PASSIVE: spinning OpenMP threads made it up to 20x slower on a busy 2-core box.
set -euo pipefail
cd "$(dirname "$0")"
ENV=../../shared/tools/pytorch-env
[ -x "$ENV" ] || ENV=${PYTORCH_ENV:-pytorch-env}
export OMP_WAIT_POLICY=PASSIVE
mkdir -p .work
run() { "$ENV" python -m tessera_models.train_tiny "$@"; }
( run vqgan --ds 16 --steps 2500 --threads 1 --vqgan vqgan.pt > .work/vqgan.log 2>&1 ) &
v=$!
( run vqgan --steps 700 --threads 1 --vqgan vqgan8_a.pt > .work/vqgan8.log 2>&1 &&
  run vqgan --init vqgan8_a.pt --steps 600 --threads 1 --vqgan vqgan8.pt > .work/vqgan8_b.log 2>&1 ) &
c=$!
wait $c
run shape --init none --steps 3000 --stop 1500 --batch 128 --recon 0.3 --shape-w 1.0 --threads 2 \
  --vqgan vqgan8.pt --out clip_s2.pt > .work/clip_s2.log 2>&1
wait $v
run adv --init clip_s2.pt --rounds 6 --renders 96 --steps 200 --seed 2000 --threads 1 \
  --vqgan vqgan.pt --out clip_adv.pt > .work/adv.log 2>&1
cp .work/clip_adv.pt .work/clip.pt
# Tried and not kept (2026-11-27, second session):
#  - rounds 7 and 8 of the same adv run: the quality test fell from 96/79 % to 92/63 % (round 7),
#    so the bundle keeps the state after 6 rounds;
#  - the VQGAN's GAN part aimed at the loop (a patch discriminator teaching the decoder to turn
#    random code grids into world-like images): after 1000 steps random grids decoded to large
#    plain regions with edge artefacts, not shapes, and reconstructions fell from 25 to 22 dB;
#  - the same CLIP recipe with the 4x8x8 VQGAN (no adv rounds): colour collages, shape 29 %.
"$ENV" python -m tessera_models.export_tiny --vqgan .work/vqgan.pt --clip .work/clip.pt
# Tried and not kept (2026-12-03, issue #15 item 6: the bundle with the reference loop): stage 5,
# models/tessera_models/train_ref.py, the image tower alone (text tower frozen) from the bundle's
# own weights, on clean/decoded/clutter images seen half through generate.py `latest` cutouts:
#   "$ENV" python -m tessera_models.train_ref invariance --steps 200 --batch 48 --lr 1e-3 \
#     --p-ref 0.6 --threads 2 --every 50 --seed 4000 --out clip_inv.pt > .work/inv.log 2>&1
#   "$ENV" python -m tessera_models.train_ref export --clip .work/clip_inv_s200.pt --bundle-out DIR
#  - torch must run with mkldnn off: on this CPU oneDNN convolutions gave wrong input gradients
#    (rel. error 0.04-0.48 against float64) and a NaN forward for the 24->48 4x4 stride-2 conv of
#    the image tower (stages 1-3 above ran with it on); the slow path matches float64 to 1e-7 but
#    is ~25x slower (forward+backward of 64 cutouts: 5.6 s), so the variant with reference-loop
#    renders (train_ref train) did not fit the session (32 renders of 20 steps: 415 s);
#    (2026-12-04: the wrong numbers are oneDNN's AVX-512 kernels, and its AVX2 kernels for the
#    input gradient of the decoder's 32->3 conv; capped at SSE4.1 oneDNN is right and fast, so
#    train_ref imports tessera_models/onednn_isa.py instead; models/tests/test_onednn_isa.py)
#  - the bundle's CLIP through one reference-loop cutout (168 full captions, world images):
#    colour+background 11 %, shape 40 % (whole image 100 %, 98 %); one augment at a time:
#    Af 53/76 %, Pe 39/61 %, Ji 77/95 %, Er 48/62 %, cutout noise 0.1 alone 100/97 %;
#  - after stage 5 that zero-shot was 52/49 %; the reference loop (loop-quality.ts, 24 cases)
#    on the tuning set 75.0/41.7 % (step 100) and 79.2/45.8 % (step 200, picked), on the final
#    set (run once) 79.2/41.7 %, heldout 66.7/50.0 % (the committed bundle: heldout 29.2/33.3 %, first 8 tuning
#    cases 25/75 %). But the classic loop fell: quality test 66.7/54.2 % (step 200; the bundle 95.8/79.2 %),
#    tuning set 54.2/37.5 % (step 100): it no longer resists the classic loop's adversarial
#    images although its classic-cutout zero-shot stayed at 96/97 %. Next: reference-loop renders
#    in the training mix (train_ref train) and classic renders to hold the classic loop.
# Kept (2026-12-04, issue #15 item 6): stage 5 again, now with oneDNN right (SSE4.1 cap), and the
# new image tower only in the reference step (image-reference.onnx); every other graph, so the
# classic loop, stays byte for byte as above (text tower frozen, so one text.onnx serves both):
#   "$ENV" python -m tessera_models.train_ref invariance --steps 200 --batch 48 --lr 1e-3 \
#     --p-ref 0.6 --threads 2 --every 50 --seed 4000 --out clip_inv.pt > .work/inv.log 2>&1     # 1 min
#   "$ENV" python -m tessera_models.train_ref train --init clip_inv_s200.pt --rounds 5 --renders 64 \
#     --classic 32 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 2 --seed 4100 \
#     --out clip_ref.pt > .work/ref2.log 2>&1                                       # ~80 min, shared CPU
#   "$ENV" python -m tessera_models.train_ref export --reference-only --clip .work/clip_ref_r2.pt
#  Chosen on the tuning set only (renderer/scripts/loop-quality.ts --set tuning --options
#  '{"loop":"reference"}', 24 cases, colour+background / shape): after round 0 83.3/54.2 %,
#  round 2 95.8/62.5 % (picked), round 3 95.8/58.3 %, round 4 87.5/62.5 %; cutn 16 instead of 8:
#  round 2 87.5/54.2 %, round 4 70.8/62.5 % (not kept). Then, once, on the committed bundle:
#  heldout 79.2/66.7 %, final 83.3/75.0 % (was 29.2/33.3 % heldout). The target (>= 90/70 % on
#  pairs never used for a choice) is not reached: colour is the gap on heldout and final.
#  The committed bundle's reference defaults against variants, tuning set only (colour/shape/all):
#  as committed 95.8/62.5/58.3 %; lr 0.15 79.2/41.7/37.5; lr 0.4 87.5/54.2/50.0; cutNoise 0.05
#  91.7/62.5/58.3; cutNoise 0.2 91.7/70.8/66.7; 300 steps 95.8/66.7/66.7 (7.5 s a render). The
#  last two gain one or two of 24 cases, within the set's noise; not adopted (a larger tuning set
#  first; `reference` has no steps of its own, and 300 steps would change the classic loop too).
# Kept (2026-12-04, second tower, replaces the one above): the invariance stage 8x longer (its
# zero-shot through one reference cutout was still rising at 200 steps: 52/49 %; 1600 steps
# 69/64 %), then the same render rounds from it; step-reference re-exported with the warps'
# sample points computed elementwise (refloop.warp_coordinates, issue #15 parity):
#   "$ENV" python -m tessera_models.train_ref invariance --steps 1600 --batch 48 --lr 1e-3 \
#     --p-ref 0.6 --threads 2 --every 400 --seed 4000 --out clip_inv16.pt > .work/inv16.log 2>&1  # 10 min
#   "$ENV" python -m tessera_models.train_ref train --init clip_inv16_s1600.pt --rounds 4 --renders 64 \
#     --classic 32 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 2 --seed 4100 \
#     --out clip_ref16.pt > .work/ref16.log 2>&1                                    # ~65 min, shared CPU
#   "$ENV" python -m tessera_models.train_ref export --reference-only --clip .work/clip_ref16_r3.pt
#  Training renders right (judge == prompt, 64 a round): rounds 0-3 23/31/39/41 % (first tower
#  11/22/23/34/25 %). Chosen on the tuning set only, now 48 cases (loop-quality.ts --set tuning
#  --cases 48; rule fixed before: most cases with all three right, then shape), colour/shape/all:
#  the first tower with the new graph 91.7/64.6/58.3 %; invariance alone s800 81.3/47.9/39.6,
#  s1600 87.5/56.3/45.8; rounds 0-3 95.8/62.5/60.4, 89.6/68.8/62.5, 87.5/70.8/60.4,
#  89.6/70.8/62.5 (picked: round 3); the mean of rounds 1-3's weights 85.4/64.6/54.2. Then, once:
#  heldout 75.0/66.7 %, final 79.2/75.0 % (first tower 79.2/66.7, 83.3/75.0). Not reached:
#  >= 90/70 % on unseen pairs. Surprise: four points on 48 tuning cases did not carry over; at a
#  true rate of 85 % a 24-case set reads 85 +- 7 %, so a tower must be right on ~95 % of tuning
#  cases before 90 % on heldout is likely.
# Kept (2026-12-04, session 10, third tower, replaces the one above): more render rounds from it:
#   "$ENV" python -m tessera_models.train_ref train --init clip_ref16_r3.pt --rounds 3 --renders 64 \
#     --classic 32 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 2 --seed 4200 \
#     --out clip_ref16c.pt > .work/ref16c.log 2>&1                                  # ~33 min
#   "$ENV" python -m tessera_models.train_ref train --init clip_ref16c_r2.pt --rounds 2 --renders 64 \
#     --classic 32 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 2 --seed 4300 \
#     --out clip_ref16d.pt > .work/ref16d.log 2>&1       # stopped after round 0 (time), ~11 min
#   "$ENV" python -m tessera_models.train_ref export --reference-only --clip .work/clip_ref16c_r1.pt
#  Training renders right: c rounds 0-2 39/53/50 %, d round 0 52 %. Chosen on a new set, `wide`
#  (loop-quality.ts --set wide --cases 56: seeds 3001-3056, every background offset 1-7; the old
#  tuning set has even offsets only, never orange on red), by the rule written down before scoring
#  (most all-three right, then shape; adopt only if better than the committed tower), colour/shape/all:
#  committed tower 91.1/66.1/60.7 %; c_r0 94.6/66.1/66.1; c_r1 96.4/73.2/73.2 (picked); c_r2
#  87.5/69.6/67.9; d_r0 87.5/73.2/71.4. Then, once: heldout 79.2/79.2 %, final 87.5/70.8 % (colour/
#  shape; all-three 70.8 and 62.5). Shape now >= 70 % on both unseen sets; colour is still short of
#  90 %. Seen in the failures on wide: squares drawn as trapezoids or tall rectangles (the tower
#  learns generate.py's perspective and affine augments as invariances), which the judge reads as
#  circles.
#  After the pick, for information only (no choice made on them), the committed tower's reference
#  defaults against variants on wide: Af Pe Ji Er 96.4/73.2/73.2; Af Pe Er 94.6/69.6/69.6; Af Ji Er
#  85.7/58.9/57.1: the perspective augment helps shapes even though the tower is invariant to it.
# Session 11 (2026-12-04), written before any candidate below was scored: four more render rounds
# from the committed reference tower (its checkpoints are not kept; `--init bundle-reference` reads
# it back from image-reference.onnx):
#   "$ENV" python -m tessera_models.train_ref train --init bundle-reference --rounds 4 --renders 64 \
#     --classic 32 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 2 --seed 4400 \
#     --out clip_ref16e.pt > .work/ref16e.log 2>&1
#  Rule: candidates are rounds e0..e3 (those finished in time); each is judged with the bundle's
#  reference defaults on heldout (24) + final (24) + wide cases 84..135 (52): 100 cases, all used for
#  choices from now on. The pick has the most colour+background right, loses at most 3 shape-right
#  cases against the committed tower on the same cases, ties going to all-three; it replaces the
#  committed tower only if it beats its colour count by >= 3 cases. Then `--set unseen --cases 56`
#  once, on what is committed, for the report.
#  Before the rounds, the loop's own defaults were screened (models/gpu/loop-screen.sh, 8 option
#  sets side by side; the GPU machine was not lent, so here: OUT=models/.work/screen-local
#  SCREEN_SLICE=84 SCREEN_SLICES=1 SCREEN_DEADLINE_S=2700, 45 min). On the 70 wide cases all sets
#  finished, colour/shape/all right: A defaults 66/54/52; B cutn 12 65/48/47; C 300 steps 65/54/52;
#  D lr 0.4 66/57/56; E lr 0.15 66/47/45; F cutNoise 0.2 66/52/49; G cutn 16 + 150 steps 65/50/48;
#  H initNoise gradient 38/49/34. By the rule in loop-screen.sh no set beats A's colour by 3: the
#  defaults stay. A on the wide cases never scored before (3057-3084): colour 23/28 (82 %), so
#  wide 1-56's 96 % was the pick's optimism.
#  Result (models/.work/evalc: loop-quality.ts --threads 1 --options '{"loop":"reference"}' on
#  heldout 24 + final 24 + wide --from 84 --cases 52), colour/shape/all of 100:
#  committed 87/73/67; e0 83/67/59; e1 86/73/66; e2 89/67/63 (loses 6 shape cases: out); e3 79/65/56.
#  Training renders right per round: 58/56/36/44 %. No candidate beats the committed colour by 3:
#  the committed tower stays (nothing exported). Then, once, on the committed bundle:
#    nice node --import tsx renderer/scripts/loop-quality.ts --set unseen --cases 56 \
#      --options '{"loop":"reference"}'
#  unseen: colour+background 94.6 %, shape 76.8 %, all-three 73.2 %, 5.8 s a render (2 threads).
#  Read with care: the same tower's first reads of sets never used for a choice were heldout 79.2 %
#  (24), final 87.5 % (24) and unseen 94.6 % (56) colour: together 93 of 104 = 89.4 %, at the
#  target rather than clearly above it. Shape: 19 + 17 + 43 of 104 = 76.0 %.
# Session 12 (2026-12-04), written before any candidate below was scored: render rounds whose
# reference-loop prompts are the quality template ("a C S on a B background", uniform over the 168
# triples), half of them re-drawn among prompts whose render came out wrong earlier in the run
# (hard-example mining; `--prompts template`), twice the renders per round, two seeds side by side:
#   for s in 4500 4600; do "$ENV" python -m tessera_models.train_ref train --init bundle-reference \
#     --rounds 2 --renders 128 --classic 32 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 1 \
#     --seed $s --prompts template --out clip_ref17_$s.pt > .work/ref17_$s.log 2>&1 & done
#  Rule (as session 11's): candidates are rounds r0, r1 of both seeds (4); each is judged with the
#  bundle's reference defaults on the same 100 choice cases (heldout 24 + final 24 + wide --from 84
#  --cases 52, --threads 1); the committed tower's figures there are session 11's, 87/73/67. The pick
#  has the most colour+background right, loses at most 3 shape-right cases against the committed
#  tower, ties going to all-three; it replaces the committed tower only if it beats its colour count
#  by >= 3 cases. Then `--set fresh --cases 112` (defined before any render of it) once, on what is
#  committed, for the report.
#  Result (models/.work/evalc, as session 11's), colour/shape/all of 100: s4500 r0 84/72/63, r1
#  83/67/60; s4600 r0 83/74/64, r1 85/72/65; committed 87/73/67. Training renders right (all three;
#  from the first batch on, half the prompts are earlier misses): s4500 39/31 %, s4600 44/40 %.
#  No candidate beats the committed colour by 3 (none even reaches it): the committed tower stays.
#  Diagnosis, over the four candidates' 400 choice renders, colour+background right by the prompt's
#  background: white 25/48 (52 %), orange 39/52, blue 39/48, purple 39/48, black 44/48, red 49/52,
#  yellow 49/52, green 51/52: white backgrounds are the largest single failure. The committed tower
#  is not to blame: under the loop's own views it scores the clean image of the prompt best among
#  all 168 clean scenes for colour+background in 163 of 168 prompts, and every wrong render of 32
#  template prompts had a much higher loss than the clean image of its prompt (0.51-0.83 against
#  0.22-0.45): the loop gets stuck, it is not fooled. Turning RandomErasing (black rectangles) off
#  does not help white backgrounds (PyTorch batched loop, 32 white-background prompts, seed 11:
#  19/32 with it, 15/32 without).
#  Then, once, on the committed bundle (fresh: seeds 9001-9112, defined in 2724eae before any render):
#    node --import tsx renderer/scripts/loop-quality.ts --set fresh --cases 112 --options '{"loop":"reference"}'
#  fresh: colour+background 89.3 % (100/112), shape 67.0 % (75/112), all-three 58.9 %, 5.1 s a render
#  (2 threads). By background, white 9/14 is again the worst; by shape, squares 11/37 (circles 32/37,
#  triangles 32/38). All first reads of this tower on sets never used for a choice (heldout 24,
#  final 24, unseen 56, fresh 112): colour 193/216 = 89.4 %, shape 154/216 = 71.3 %.
#  Augment screens afterwards, for the next session (committed bundle, 100 choice cases, --threads 1,
#  colour/shape/all; defaults Af,Pe,Ji,Er 87/73/67): Af,Ji,Er (no Pe) 72/59/46; +Re 89/69/63;
#  +Sh 88/67/60. The perspective warp matters a great deal; adding Re or Sh moves colour by 1-2
#  cases and costs 4-6 shape cases: no lead there.
# Session 13 (2026-12-05), written before any screen below was scored. The loop gets stuck on white
# backgrounds (renders come out on black); the optimiser is a generate.py option the bundle may set
# (manifest reference.optimiser), never screened until now. Screens, committed tower, the same 100
# choice cases (heldout 24 + final 24 + wide --from 84 --cases 52, --threads 1), bundle lr 0.25:
#   models/.work/screen.sh NAME '{"loop":"reference","optimiser":"RAdam"}'   (then DiffGrad, Adamax,
#   RMSprop, AdamW, Adagrad, in that order, as time allows)
#  Rule: a variant becomes the bundle default only with colour+background >= 90 of 100 (committed
#  87 + 3) and shape >= 72 (committed 73 - 1); among several, the most colour, ties to all-three.
#  Whatever is committed at the end is then read once on the new set `sealed` (seeds 13001-13112,
#  defined in renderer/scripts/loop-quality.ts before any render of it), --cases 112, for the report.
# Session 13, towers, written before any candidate below was trained or scored. Diagnosis
# (.work scripts, recorded in path_rank.py's docstring): along the path from a wrong background to
# the prompt's, repainted one 16x16 token patch at a time, the committed tower's loss first rises
# (0.78 -> 1.07 at 4 of 16 patches) and falls below the start only past half: a barrier the loop
# cannot cross once it has committed (it commits in its first 10-20 steps). New term: path ranking
# (path_rank.py, train_ref --path W): pairs further along such a path (background patches; circle ->
# square superellipses) must score higher. Its yardstick on the committed tower (one view each):
# background pairs ranked right 0.693, shape pairs 0.672.
#   "$ENV" python -m tessera_models.train_ref train --init bundle-reference --rounds 2 --renders 64 \
#     --classic 0 --steps 150 --batch 96 --lr 3e-4 --p-ref 0.5 --threads 1 --seed 4700 --path 1 \
#     --out clip_path_4700.pt        (and --seed 4800 --path 3 --out clip_path_4800.pt)
#  Rule (as session 12's): candidates r0, r1 of both; each judged on the same 100 choice cases with
#  the bundle's reference defaults; the pick has the most colour+background right, loses at most 3
#  shape-right cases against the committed tower (73), ties to all-three; it replaces the committed
#  tower only if its colour beats 87 by >= 3. Whatever is committed is read once on `sealed`.
#  Result (models/.work/evalc), colour/shape/all of 100 (committed 87/73/67): path 1 (s4700) r0
#  88/62/56, r1 91/68/63; path 3 (s4800) r0 89/72/65, r1 90/65/59. Only s4800 r0 keeps shape
#  (>= 70) and its colour (89) does not beat 87 by 3: by the rule the committed tower stays. White
#  backgrounds stay about half right (7/12 in s4700 r1); the colour gain is elsewhere. Squares:
#  the loop's wrong squares are rounded (judge fill 0.77-0.88), big and small alike (PyTorch loop,
#  32 square prompts: blobs 400-2000 px), so size is not the cause; the decoder itself draws a big
#  square with fill 0.91 (encode/decode of clean world squares).
#  Also screened (loop defaults, committed tower, same 100 cases; Adam 87/73/67): RAdam 77/60/47,
#  DiffGrad 82/70/62, Adamax 79/67/59, AdamW 89/70/64 (its weight decay pulls z to the interior,
#  where white lives: white is the one colour whose latent is not near a corner of the FSQ cube);
#  RMSprop and Adagrad not run. None meets the rule.
# Session 13, second try, written before these were trained or scored: the path term without
# render rounds (which have never beaten the committed tower), from the committed tower:
#   "$ENV" python -m tessera_models.train_ref invariance --init bundle-reference --steps 300 \
#     --batch 48 --lr 1e-4 --p-ref 0.6 --threads 1 --every 100 --seed 4900 --path 1 --out clip_pinv_4900.pt
#   (and --seed 5000 --path 3 --out clip_pinv_5000.pt)
#  Rule: the two final checkpoints (s300) are the candidates, judged as above; same pick and bar
#  (colour >= 90, shape >= 70 of 100).
#  Result: i4900 (path 1) 83/72/64; i5000 (path 3) 86/75/65. No pick.
# Session 13, third try, written before these were scored: AdamW as the reference optimiser (the
# one loop default that moved colour up on the committed tower, 89/70/64) with the two path-term
# towers of the first try nearest the bar: p4800 r0 (89/72/65) and p4700 r1 (91/68/63):
#   OPT='{"loop":"reference","optimiser":"AdamW"}' on the same 100 choice cases.
#  Rule: same bar (colour >= 90, shape >= 70 of 100), most colour, ties to all-three; a pick is
#  exported with reference.optimiser AdamW and read once on `sealed`; otherwise the committed
#  bundle (Adam) is read once on `sealed`, as the first rule says.
#  Result (AdamW, colour/shape/all of 100): p4800 r0 89/68/64; p4700 r1 91/69/65 (one shape case
#  under the bar). No pick: the committed bundle stays, byte for byte.
#  Then, once, on the committed bundle (sealed: seeds 13001-13112, defined in 41ba80d before any render):
#    node --import tsx renderer/scripts/loop-quality.ts --set sealed --cases 112 --options '{"loop":"reference"}'
#  sealed: colour+background 86.6 % (97/112), shape 72.3 % (81/112), all-three 62.5 %, 5.5 s a render
#  (2 threads). By background white 8/14 is again the worst (others 11-14 of 14); squares 6/28
#  (circles 40/42, triangles 35/42). All first reads of this tower on sets never used for a choice
#  (heldout 24, final 24, unseen 56, fresh 112, sealed 112): colour 290/328 = 88.4 %, shape
#  235/328 = 71.6 %.
# Session 14 (2026-12-05), written before any screen below was scored. generate.py's init weight
# (-iw: + mse(z, 0)·w/(2i+1)/2) pulls z toward the latent cube's centre in the first steps, the
# steps in which the loop commits to a background (session 13); it was never screened. At step 0
# its gradient per unit w is about the CLIP gradient's size (mean |dL/dz| 0.014 against 0.012·w,
# 16 template prompts), so w = 2, 8, 32 span a nudge to a term that leads for the first ~15 steps.
# Screens, committed tower, the same 100 choice cases (heldout 24 + final 24 + wide --from 84
# --cases 52, --threads 1), Adam:
#   models/.work/screen.sh iwN '{"loop":"reference","initWeight":N}'    (N = 8, 2, 32 in that order)
#  Rule: a weight becomes the bundle default (manifest reference.initWeight) only with
#  colour+background >= 90 of 100 and shape >= 70; among several, the most colour, ties to
#  all-three. With a pick, AdamW at that weight is screened under the same bar and replaces it only
#  with more colour. What is committed at the end is read once on the new set `vault` (seeds
#  15001-15168, every triple once, defined in loop-quality.ts before any render of it), --cases 168.
#  Result (models/.work/screen14, colour/shape/all of 100; committed Adam without it 87/73/67):
#  initWeight 8 91/73/67; 2 92/72/68 (picked: the most colour within the bar); 32 93/55/53 (white
#  backgrounds 12/12, but shapes blur: out); AdamW + initWeight 2 93/69/66 (one shape case under the
#  bar: out). White backgrounds right: 7 of 12 without the weight, 9 (w 2), 10 (w 8), 12 (w 32).
#  The bundle's reference defaults gain initWeight 2 (manifest only; every graph byte for byte as
#  before); from scratch, the export line of the third tower above becomes
#    "$ENV" python -m tessera_models.train_ref export --reference-only --clip .work/clip_ref16c_r1.pt \
#      --reference '{"initWeight": 2}'
#  Then, once, on the committed bundle (vault: seeds 15001-15168, every triple once, defined in
#  859276d before any render of it):
#    nice node --import tsx renderer/scripts/loop-quality.ts --set vault --cases 168 --options '{"loop":"reference"}'
#  vault: colour+background 94.6 % (159/168), shape 70.2 % (118/168), all-three 67.3 %, 5.1 s a
#  render (2 threads). By background: white 18/21 (the old defaults: about 55 %), blue 16/21 the
#  worst now, the rest 20-21 of 21; by shape: circles 52/56, triangles 47/56, squares 19/56 (still
#  drawn rounded). Shape clears 70 % by a hair (a 168-case read is +-7 % at 95 %); colour clearly.
