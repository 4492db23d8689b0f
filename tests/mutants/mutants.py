"""The mutants: careless edits that a test must catch, at least three per method.

Each mutant replaces one exact snippet (``old``, which must occur exactly once in ``file``,
a path under ``src/deepclust``) by ``new`` and names the tests that must then fail (pytest
arguments: node ids, or a file and ``-k EXPR``). ``run.py`` applies them one at a time to a
copy of ``src``. Adding a method means adding its mutants here (``METHODS`` below and
``tests/test_mutants.py`` check that every method has at least three).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    method: str  # an algorithm's name, or one of PRETRAINING
    file: str  # under src/deepclust
    old: str
    new: str
    tests: tuple[str, ...]  # pytest arguments that select the tests expected to kill it
    description: str  # the careless edit it models


PRETRAINING = ("end_to_end", "layerwise", "acai", "augmentation")
MIN_PER_METHOD = 3


def top(file: str, test: str) -> str:
    """The node id of ``test`` in ``tests/<file>``."""
    return f"tests/{file}::{test}"


def alg(file: str, test: str) -> str:
    """The node id of ``test`` in ``tests/algorithms/<file>``."""
    return f"tests/algorithms/{file}::{test}"


def behaviour(name: str) -> str:
    """The behaviour test of refinement ``name`` (``test_behaviour.py``)."""
    return alg("test_behaviour.py", f"test_refinement_repairs_a_displaced_start[{name}]")


MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- aekm
    Mutant(
        "aekm-raw-embedding",
        "aekm",
        "algorithms/aekm.py",
        "embedding=embed(autoencoder, X).cpu().numpy(),",
        "embedding=X.cpu().numpy(),",
        (
            alg(
                "test_contract.py",
                "test_fit_is_deterministic_and_leaves_the_callers_autoencoder_alone[aekm-dense]",
            ),
        ),
        "reports the input data as the embedding",
    ),
    Mutant(
        "aekm-centers-dropped",
        "aekm",
        "algorithms/aekm.py",
        "centers=init.centers.copy(),",
        "centers=None,",
        (alg("test_behaviour.py", "test_aekm_returns_its_start_unchanged"),),
        "drops the k-means centres from the result",
    ),
    Mutant(
        "aekm-fresh-kmeans",
        "aekm",
        "algorithms/aekm.py",
        "labels=init.labels.copy(),",
        "labels=__import__('sklearn.cluster').cluster.KMeans(len(init.centers), n_init=1, "
        "random_state=0).fit_predict(embed(autoencoder, X).cpu().numpy()),",
        (alg("test_behaviour.py", "test_aekm_returns_its_start_unchanged"),),
        "re-runs a one-restart k-means instead of returning the pipeline's start",
    ),
    # ---------------------------------------------------------------- dec
    Mutant(
        "dec-target-frozen",
        "dec",
        "algorithms/dec.py",
        "state.p = target_distribution(q)",
        "state.p = target_distribution(q) if step == 0 else state.p",
        (behaviour("dec"),),
        "the target distribution P is computed at step 0 and never refreshed",
    ),
    Mutant(
        "dec-centers-frozen",
        "dec",
        "algorithms/dec.py",
        "trained = [*ae.encoder.parameters(), centers]",
        "trained = [*ae.encoder.parameters()]",
        (alg("test_dec.py", "test_dec_trains_centers_and_encoder_but_not_decoder"),),
        "the cluster centres are not given to the optimiser",
    ),
    Mutant(
        "dec-stop-inverted",
        "dec",
        "algorithms/dec.py",
        "if step > 0 and delta < params.tol:",
        "if step > 0 and delta >= params.tol:",
        (alg("test_dec.py", "test_stops_when_fewer_than_tol_labels_change"),),
        "the stop rule is inverted",
    ),
    Mutant(
        "dec-target-wrong-axis",
        "dec",
        "losses.py",
        "weight = q.pow(2) / q.sum(dim=0)",
        "weight = q.pow(2) / q.sum(dim=1, keepdim=True)",
        (alg("test_dec.py", "test_target_distribution_hand_values"),),
        "P's cluster frequency f_j summed over the wrong axis",
    ),
    Mutant(
        "dec-encoder-detached",
        "dec",
        "algorithms/dec.py",
        "        z = ae.encode(x)\n        q = soft_assignment(z, centers, params.alpha)",
        "        z = ae.encode(x).detach()\n        q = soft_assignment(z, centers, params.alpha)",
        (alg("test_dec.py", "test_dec_trains_centers_and_encoder_but_not_decoder"),),
        "the embedding is detached: KL never reaches the encoder",
    ),
    Mutant(
        "dec-alpha-ignored",
        "dec",
        "algorithms/dec.py",
        "        z = ae.encode(x)\n        q = soft_assignment(z, centers, params.alpha)",
        "        z = ae.encode(x)\n        q = soft_assignment(z, centers)",
        (alg("test_dec.py", "test_the_loss_trained_is_kl_of_p_and_q_with_alpha"),),
        "the batch's Q uses the default α = 1 instead of params.alpha",
    ),
    # ---------------------------------------------------------------- idec
    Mutant(
        "idec-gamma-ignored",
        "idec",
        "algorithms/idec.py",
        "return reconstruction + gamma * clustering",
        "return reconstruction + clustering",
        (alg("test_idec.py", "test_total_loss_is_reconstruction_plus_gamma_times_kl"),),
        "the weight γ of the clustering term is ignored",
    ),
    Mutant(
        "idec-gamma-hardcoded",
        "idec",
        "algorithms/idec.py",
        "combine=functools.partial(total_loss, gamma=params.gamma),",
        "combine=functools.partial(total_loss, gamma=0.1),",
        (alg("test_idec.py", "test_history_holds_both_terms_and_the_decoder_is_trained"),),
        "fit uses the paper's γ = 0.1 whatever the config says",
    ),
    Mutant(
        "idec-decoder-frozen",
        "idec",
        "algorithms/dec.py",
        "trained += list(ae.decoder.parameters())",
        "trained += []",
        (alg("test_idec.py", "test_history_holds_both_terms_and_the_decoder_is_trained"),),
        "the decoder is not trained although its loss is",
    ),
    Mutant(
        "idec-reconstruction-detached",
        "idec",
        "algorithms/dec.py",
        "rec = reconstruction_loss(ae.decode, x, z, x_aug, z_aug)  # Eq. 20 when augmented",
        "rec = reconstruction_loss(ae.decode, x, z.detach(), x_aug, z_aug)",
        (alg("test_idec.py", "test_with_gamma_zero_the_reconstruction_trains_the_encoder"),),
        "the reconstruction term no longer reaches the encoder",
    ),
    # ---------------------------------------------------------------- dcec
    Mutant(
        "dcec-decoder-dropped",
        "dcec",
        "algorithms/dcec.py",
        "combine=functools.partial(total_loss, gamma=params.gamma),",
        "combine=None,",
        (alg("test_dcec.py", "test_loss_is_reconstruction_plus_gamma_kl_and_the_decoder_trains"),),
        "DCEC runs as DEC: no reconstruction term, decoder dropped",
    ),
    Mutant(
        "dcec-gamma-hardcoded",
        "dcec",
        "algorithms/dcec.py",
        "combine=functools.partial(total_loss, gamma=params.gamma),",
        "combine=functools.partial(total_loss, gamma=0.1),",
        (alg("test_dcec.py", "test_loss_is_reconstruction_plus_gamma_kl_and_the_decoder_trains"),),
        "fit uses γ = 0.1 whatever the config says",
    ),
    Mutant(
        "dcec-accepts-dense",
        "dcec",
        "algorithms/dcec.py",
        "if not isinstance(autoencoder, ConvAutoencoder):",
        "if False:",
        (alg("test_dcec.py", "test_refuses_a_dense_autoencoder"),),
        "the convolutional-autoencoder check is dropped",
    ),
    Mutant(
        "dcec-target-frozen",
        "dcec",
        "algorithms/dec.py",
        "state.p = target_distribution(q)",
        "state.p = target_distribution(q) if step == 0 else state.p",
        (alg("test_behaviour.py", "test_dcec_repairs_a_displaced_start_on_images"),),
        "P computed once (shared with DEC), seen through DCEC's behaviour",
    ),
    # ---------------------------------------------------------------- dcn
    Mutant(
        "dcn-centers-frozen",
        "dcn",
        "algorithms/dcn.py",
        "update_centers(state.centers, state.counts, z, state.labels[idx])",
        "pass",
        (
            alg(
                "test_dcn.py",
                "test_after_a_step_the_batch_is_reassigned_and_the_centers_follow_eq_10",
            ),
        ),
        "the centres are never updated (Eq. 10 skipped)",
    ),
    Mutant(
        "dcn-labels-frozen",
        "dcn",
        "algorithms/dcn.py",
        "state.labels[idx] = nearest_center(z, state.centers)",
        "state.labels[idx] = state.labels[idx]",
        (
            alg(
                "test_dcn.py",
                "test_after_a_step_the_batch_is_reassigned_and_the_centers_follow_eq_10",
            ),
        ),
        "the batch is never re-assigned",
    ),
    Mutant(
        "dcn-lambda-ignored",
        "dcn",
        "algorithms/dcn.py",
        '"loss": rec + params.lam * clust',
        '"loss": rec + clust',
        (alg("test_dcn.py", "test_loss_is_reconstruction_plus_lambda_times_the_clustering_term"),),
        "the weight λ of the clustering term is ignored",
    ),
    Mutant(
        "dcn-counts-frozen",
        "dcn",
        "algorithms/dcn.py",
        "counts.copy_(new_counts)",
        "pass",
        (alg("test_dcn.py", "test_center_update_equals_the_sequential_rule_of_eq_10"),),
        "the counts c_j of Eq. 10 never grow",
    ),
    Mutant(
        "dcn-clustering-detached",
        "dcn",
        "algorithms/dcn.py",
        "clust = clustering_loss(z, assigned)",
        "clust = clustering_loss(z.detach(), assigned)",
        (alg("test_dcn.py", "test_the_clustering_term_pulls_the_embedding_to_the_centers"),),
        "the clustering term is computed on a detached embedding",
    ),
    # ---------------------------------------------------------------- aec
    Mutant(
        "aec-centers-frozen",
        "aec",
        "algorithms/aec.py",
        "state.centers.copy_(new_centers)",
        "pass",
        (alg("test_aec.py", "test_the_result_is_a_fixed_point_of_the_cluster_update"),),
        "the centres are never updated",
    ),
    Mutant(
        "aec-labels-frozen",
        "aec",
        "algorithms/aec.py",
        "state.labels.copy_(new_labels)",
        "pass",
        (behaviour("aec"), alg("test_behaviour.py", "test_aec_escapes_random_initial_labels")),
        "the labels are never re-assigned",
    ),
    Mutant(
        "aec-lambda-ignored",
        "aec",
        "algorithms/aec.py",
        "loss = total_loss(rec, clust, params.lam)",
        "loss = total_loss(rec, clust, 0.1)",
        (alg("test_aec.py", "test_loss_is_reconstruction_plus_lambda_times_the_clustering_term"),),
        "fit uses the paper's λ2 = 0.1 whatever the config says",
    ),
    Mutant(
        "aec-reassign-before-means",
        "aec",
        "algorithms/aec.py",
        "new_centers = cluster_means(z, labels, centers)\n"
        "    return nearest_center(z, new_centers), new_centers",
        "return nearest_center(z, centers), cluster_means(z, labels, centers)",
        (alg("test_aec.py", "test_update_recomputes_means_first_then_reassigns"),),
        "re-assigns before recomputing the means (DCN's order, not AEC's)",
    ),
    Mutant(
        "aec-random-init-ignored",
        "aec",
        "algorithms/aec.py",
        "return torch.randint(n_clusters, (n,), generator=generator)",
        "return torch.as_tensor(init.labels).clone()",
        (alg("test_aec.py", "test_random_init_draws_labels_from_the_generator"),),
        "init: random silently starts from the k-means labels",
    ),
    # ---------------------------------------------------------------- dkm
    Mutant(
        "dkm-centers-frozen",
        "dkm",
        "algorithms/dkm.py",
        "[*ae.parameters(), centers], params.optimizer",
        "[*ae.parameters()], params.optimizer",
        (alg("test_dkm.py", "test_one_step_lowers_the_loss_and_moves_the_centers"),),
        "the centres are not given to the optimiser",
    ),
    Mutant(
        "dkm-lambda-ignored",
        "dkm",
        "algorithms/dkm.py",
        "loss = total_loss(rec, clust, params.lam)",
        "loss = total_loss(rec, clust, 1.0)",
        (alg("test_dkm.py", "test_loss_is_reconstruction_plus_lambda_times_the_clustering_term"),),
        "fit uses λ = 1 whatever the config says",
    ),
    Mutant(
        "dkm-alpha-never-annealed",
        "dkm",
        "algorithms/dkm.py",
        "state.alpha = alphas[step // steps_per_alpha]",
        "state.alpha = alphas[0]",
        (
            alg(
                "test_dkm.py",
                "test_history_has_one_row_per_alpha_and_labels_are_the_most_probable_centers",
            ),
        ),
        "α stays at its first value",
    ),
    Mutant(
        "dkm-softmax-wrong-axis",
        "dkm",
        "algorithms/dkm.py",
        "return (dist2 * torch.softmax(-alpha * dist2, dim=1)).sum(dim=1).mean()",
        "return (dist2 * torch.softmax(-alpha * dist2, dim=0)).sum(dim=1).mean()",
        (alg("test_dkm.py", "test_soft_assignment_and_loss_hand_values"),),
        "G normalised over the batch instead of the clusters",
    ),
    Mutant(
        "dkm-assignment-detached",
        "dkm",
        "algorithms/dkm.py",
        "return (dist2 * torch.softmax(-alpha * dist2, dim=1)).sum(dim=1).mean()",
        "return (dist2 * torch.softmax(-alpha * dist2.detach(), dim=1)).sum(dim=1).mean()",
        (alg("test_dkm.py", "test_the_gradient_flows_through_the_soft_assignment"),),
        "no gradient through G (Eq. 19 differentiates it)",
    ),
    # ---------------------------------------------------------------- dekm
    Mutant(
        "dekm-eigenvectors-descending",
        "dekm",
        "algorithms/dekm.py",
        "_, vectors = torch.linalg.eigh(scatter)  # eigh returns ascending eigenvalues\n"
        "    return vectors",
        "_, vectors = torch.linalg.eigh(scatter)\n    return vectors.flip(1)",
        (alg("test_dekm.py", "test_rotation_sorts_eigenvectors_by_ascending_eigenvalue"),),
        "eigenvectors sorted by descending eigenvalue",
    ),
    Mutant(
        "dekm-first-dimension-replaced",
        "dekm",
        "algorithms/dekm.py",
        "y[:, -1] = (centers @ V)[labels, -1]",
        "y[:, 0] = (centers @ V)[labels, 0]",
        (alg("test_dekm.py", "test_greedy_targets_replace_only_the_last_dimension_hand_values"),),
        "Eq. 6 replaces the first dimension instead of the last",
    ),
    Mutant(
        "dekm-kmeans-never-rerun",
        "dekm",
        "algorithms/dekm.py",
        "info = cluster(first=step == 0)",
        "info = cluster(first=True)",
        (behaviour("dekm"),),
        "the clusters are never recomputed after the start",
    ),
    Mutant(
        "dekm-stop-inverted",
        "dekm",
        "algorithms/dekm.py",
        'if step > 0 and info["delta_label"] < params.tol:',
        'if step > 0 and info["delta_label"] >= params.tol:',
        (alg("test_dekm.py", "test_stops_when_fewer_than_tol_labels_change"),),
        "the stop rule is inverted",
    ),
    Mutant(
        "dekm-total-scatter",
        "dekm",
        "algorithms/dekm.py",
        "diff = h - centers[labels]",
        "diff = h - h.mean(dim=0)",
        (alg("test_dekm.py", "test_within_class_scatter_matches_an_independent_numpy_formula"),),
        "the total scatter instead of the within-class scatter S_w",
    ),
    # ---------------------------------------------------------------- dynae
    Mutant(
        "dynae-centroids-frozen",
        "dynae",
        "algorithms/dynae.py",
        "state.centers = update_centroids(z)",
        "pass",
        (alg("test_dynae.py", "test_a_stable_count_replaces_the_centroids_by_a_fresh_kmeans"),),
        "the centroids are never refreshed when the count is stable",
    ),
    Mutant(
        "dynae-betas-frozen",
        "dynae",
        "algorithms/dynae.py",
        "drop_confidence(\n                state.beta1, state.beta2, state.kappa, "
        "params.kappa_drop\n            )",
        "(state.beta1, state.beta2, state.kappa)",
        (
            alg(
                "test_dynae.py",
                "test_centroids_and_betas_are_updated_when_the_count_stops_decreasing",
            ),
        ),
        "the confidence thresholds β1, β2 never drop",
    ),
    Mutant(
        "dynae-conflicted-swapped",
        "dynae",
        "algorithms/dynae.py",
        "b = unconf.to(x.dtype)",
        "b = 1 - unconf.to(x.dtype)",
        (alg("test_dynae.py", "test_dynamic_loss_hand_values"),),
        "conflicted and unconflicted points swapped in the loss",
    ),
    Mutant(
        "dynae-stop-inverted",
        "dynae",
        "algorithms/dynae.py",
        "if n_conflicted / len(X) < params.tol:",
        "if n_conflicted / len(X) >= params.tol:",
        (
            alg(
                "test_dynae.py",
                "test_stops_below_tol_conflicted_and_starts_from_the_1nn_of_the_init_centers",
            ),
        ),
        "the stop rule is inverted",
    ),
    Mutant(
        "dynae-stable-inverted",
        "dynae",
        "algorithms/dynae.py",
        "stable = n_conflicted >= state.n_conflicted",
        "stable = n_conflicted < state.n_conflicted",
        (
            alg(
                "test_dynae.py",
                "test_centroids_and_betas_are_updated_when_the_count_stops_decreasing",
            ),
        ),
        "'stable' read the wrong way round",
    ),
    # ---------------------------------------------------------------- damic
    Mutant(
        "damic-experts-frozen",
        "damic",
        "algorithms/damic.py",
        '{"classifier": classifier, "experts": experts},\n        params.epochs,',
        '{"classifier": classifier},\n        params.epochs,',
        (
            alg(
                "test_damic.py",
                "test_the_joint_phase_trains_the_experts_and_the_clustering_network",
            ),
        ),
        "the experts are frozen in the joint phase",
    ),
    Mutant(
        "damic-gate-detached",
        "damic",
        "algorithms/damic.py",
        "log_p = F.log_softmax(classifier(x), dim=1)",
        "log_p = F.log_softmax(classifier(x), dim=1).detach()",
        (
            alg(
                "test_damic.py",
                "test_the_joint_phase_trains_the_experts_and_the_clustering_network",
            ),
        ),
        "the clustering network gets no gradient in the joint phase",
    ),
    Mutant(
        "damic-logsumexp-wrong-axis",
        "damic",
        "algorithms/damic.py",
        "return -torch.logsumexp(log_p - dist, dim=1).mean()",
        "return -torch.logsumexp(log_p - dist, dim=0).mean()",
        (alg("test_damic.py", "test_mixture_loss_hand_value"),),
        "Eq. 3's sum over experts taken over the batch",
    ),
    Mutant(
        "damic-distance-mean",
        "damic",
        "algorithms/damic.py",
        "return 0.5 * (recon - x[:, None, :]).pow(2).sum(dim=2)",
        "return 0.5 * (recon - x[:, None, :]).pow(2).mean(dim=2)",
        (alg("test_damic.py", "test_distance_is_half_the_squared_error_summed_over_features"),),
        "d(x, f(x)) averaged instead of summed over features",
    ),
    Mutant(
        "damic-experts-see-all-points",
        "damic",
        "algorithms/damic.py",
        "member = F.one_hot(labels, recon.shape[1]).to(per.dtype)",
        "member = torch.ones_like(per)",
        (
            alg(
                "test_damic.py",
                "test_expert_pretraining_counts_each_point_for_its_own_cluster_only",
            ),
        ),
        "every expert is pretrained on every point",
    ),
    Mutant(
        "damic-joint-phase-inert",
        "damic",
        "algorithms/damic.py",
        "labels = _evaluate(lambda x: classifier(x).argmax(dim=1), classifier, X)",
        "labels = km_labels",
        (alg("test_behaviour.py", "test_damic_repairs_noisy_initial_labels"),),
        "reports the labels it was pretrained on",
    ),
    # ---------------------------------------------------------------- end-to-end pretraining
    Mutant(
        "e2e-decoder-frozen",
        "end_to_end",
        "models/pretrain.py",
        "make_optimizer(ae.parameters(), cfg.optimizer, cfg.lr, cfg.momentum)",
        "make_optimizer(ae.encoder.parameters(), cfg.optimizer, cfg.lr, cfg.momentum)",
        (top("test_pretrain.py", "test_end_to_end_trains_every_layer_and_reconstructs"),),
        "only the encoder is given to the optimiser",
    ),
    Mutant(
        "e2e-encoder-detached",
        "end_to_end",
        "models/pretrain.py",
        "return losses.reconstruction_loss(ae.decode, x, ae.encode(x))",
        "return losses.reconstruction_loss(ae.decode, x, ae.encode(x).detach())",
        (top("test_pretrain.py", "test_end_to_end_trains_every_layer_and_reconstructs"),),
        "the embedding is detached: only the decoder learns",
    ),
    Mutant(
        "e2e-epochs-as-steps",
        "end_to_end",
        "training.py",
        'return ae_cfg["epochs"] * math.ceil(n / batch_size)',
        'return ae_cfg["epochs"]',
        (
            top("test_pretrain.py", "test_end_to_end_trains_every_layer_and_reconstructs"),
            top("test_pretrain.py", "test_a_budget_in_steps_replaces_epochs"),
        ),
        "'epochs' read as optimiser steps",
    ),
    # ---------------------------------------------------------------- layer-wise pretraining
    Mutant(
        "layerwise-dropout-ignored",
        "layerwise",
        "models/pretrain.py",
        "p = dropout",
        "p = 0.0",
        (top("test_pretrain.py", "test_layerwise_trains_each_pair_on_the_codes_below_it"),),
        "the denoising dropout rate is ignored",
    ),
    Mutant(
        "layerwise-codes-without-relu",
        "layerwise",
        "models/pretrain.py",
        "inputs = F.relu(inputs) if enc_relu else inputs",
        "inputs = inputs",
        (top("test_pretrain.py", "test_layerwise_trains_each_pair_on_the_codes_below_it"),),
        "the next pair trains on the codes before their ReLU",
    ),
    Mutant(
        "layerwise-decoder-frozen",
        "layerwise",
        "models/pretrain.py",
        "[*enc.parameters(), *dec.parameters()]",
        "[*enc.parameters()]",
        (top("test_pretrain.py", "test_layerwise_trains_each_pair_on_the_codes_below_it"),),
        "each pair's decoder layer is not trained",
    ),
    Mutant(
        "layerwise-no-lr-decay",
        "layerwise",
        "models/pretrain.py",
        "after_step=lambda x, idx, s=scheduler: s.step(),",
        "after_step=None,",
        (top("test_pretrain.py", "test_layerwise_learning_rate_is_divided_by_ten_every_lr_step"),),
        "the learning rate is never divided by ten",
    ),
    Mutant(
        "layerwise-activations",
        "layerwise",
        "models/pretrain.py",
        "return [(enc[i], dec[i], i < n - 1, i > 0) for i in range(n)]",
        "return [(enc[i], dec[i], True, True) for i in range(n)]",
        (top("test_pretrain.py", "test_layer_pairs_mirror_the_stacked_activations"),),
        "ReLU on the embedding and on the reconstruction",
    ),
    # ---------------------------------------------------------------- ACAI pretraining
    Mutant(
        "acai-critic-never-stepped",
        "acai",
        "models/acai.py",
        "critic_optimizer.step()",
        "pass",
        (top("test_acai.py", "test_the_critic_learns_to_regress_alpha"),),
        "the critic is never trained",
    ),
    Mutant(
        "acai-lambda-ignored",
        "acai",
        "models/acai.py",
        '"loss": a * a * reconstruction + lam * adversarial,',
        '"loss": a * a * reconstruction + adversarial,',
        (top("test_acai.py", "test_eq1_and_eq2_hand_values"),),
        "the adversarial weight λ is ignored",
    ),
    Mutant(
        "acai-view-dropped",
        "acai",
        "models/acai.py",
        "view=VIEW,",
        "view=IDENTITY,",
        (
            top(
                "test_acai.py", "test_acai_pretraining_trains_on_the_view_and_the_transformed_batch"
            ),
        ),
        "the terms are computed on [0, 1] data, not on the [-1, 1] view",
    ),
    Mutant(
        "acai-no-interpolation",
        "acai",
        "models/acai.py",
        "return a * z + (1 - a) * z.flip(0)",
        "return a * z + (1 - a) * z",
        (top("test_acai.py", "test_mix_pairs_each_row_with_its_partner_in_the_reversed_batch"),),
        "each embedding is 'mixed' with itself",
    ),
    Mutant(
        "acai-critic-sees-graph",
        "acai",
        "models/acai.py",
        "regress = (critic(a * x_alpha.detach() + b) - alpha).pow(2).mean()",
        "regress = (critic(a * x_alpha + b) - alpha).pow(2).mean()",
        (
            top(
                "test_acai.py",
                "test_the_autoencoder_step_leaves_the_critic_and_the_critic_step_the_autoencoder",
            ),
        ),
        "Eq. 2 sees the interpolants undetached",
    ),
    # ---------------------------------------------------------------- augmentation
    Mutant(
        "augment-noop",
        "augmentation",
        "augment.py",
        "return transform(images, angle, shift_x, shift_y).reshape(x.shape)",
        "return x.clone()",
        (
            top(
                "test_augment.py",
                "test_random_affine_keeps_shape_stays_within_bounds_and_is_reproducible",
            ),
        ),
        "the augmentation returns its input",
    ),
    Mutant(
        "augment-ranges-ignored",
        "augmentation",
        "augment.py",
        "angle = u[:, 0] * math.radians(max_rotation)",
        "angle = u[:, 0] * math.radians(10.0)",
        (top("test_augment.py", "test_zero_ranges_are_the_identity"),),
        "max_rotation is ignored",
    ),
    Mutant(
        "augment-never-in-refinement",
        "augmentation",
        "algorithms/base.py",
        "    if not params.augment:\n        return None",
        "    if True:\n        return None",
        ("tests/algorithms/test_augmented.py", "-k", "test_the_loss_trained_is_the_augmented_loss"),
        "augment: true is silently ignored by every refinement",
    ),
    Mutant(
        "augment-dec-term-dropped",
        "augmentation",
        "algorithms/dec.py",
        "clust = augmented_kl_divergence(p, q, soft_assignment(z_aug, centers, params.alpha))",
        "clust = kl_divergence(p, q)",
        (alg("test_augmented.py", "test_the_loss_trained_is_the_augmented_loss[dec]"),),
        "DEC's Eq. 24 loses its augmented KL term",
    ),
    Mutant(
        "augment-eq20-unhalved",
        "augmentation",
        "losses.py",
        "return 0.5 * (loss + distance(decode(z_aug), x_aug))",
        "return loss + distance(decode(z_aug), x_aug)",
        (alg("test_augmented.py", "test_the_loss_trained_is_the_augmented_loss[dcn]"),),
        "Eq. 20 sums instead of averaging the two reconstructions (seen through DCN)",
    ),
    Mutant(
        "augment-pretraining-noop",
        "augmentation",
        "models/pretrain.py",
        "x_aug = augment(x)",
        "x_aug = x",
        (top("test_pretrain.py", "test_augmented_reconstruction_loss_is_eq_20"),),
        "pretraining's Eq. 20 compares x with itself",
    ),
    Mutant(
        "augment-acai-noop",
        "augmentation",
        "models/acai.py",
        "            x = augment(x)",
        "            x = x",
        (
            top(
                "test_acai.py", "test_acai_pretraining_trains_on_the_view_and_the_transformed_batch"
            ),
        ),
        "ACAI's augmentation is a no-op",
    ),
    Mutant(
        "augment-dynae-noop",
        "augmentation",
        "algorithms/dynae.py",
        "            x = augment(x)",
        "            x = x",
        (
            alg(
                "test_dynae.py",
                "test_short_augmented_fit_is_deterministic_and_logs_conflicted_points",
            ),
        ),
        "DynAE's augmentation is a no-op",
    ),
    Mutant(
        "augment-global-rng",
        "augmentation",
        "augment.py",
        "u = torch.rand(n, 3, generator=generator, device=generator.device)",
        "u = torch.rand(n, 3, device=generator.device)",
        (
            top(
                "test_augment.py",
                "test_random_affine_keeps_shape_stays_within_bounds_and_is_reproducible",
            ),
        ),
        "the transformations are drawn from the global RNG, not the run's generator",
    ),
    # ---------------------------------------------------------------- n2d
    Mutant(
        "n2d-components-fixed",
        "n2d",
        "algorithms/n2d.py",
        "n_components = params.n_components or n_clusters",
        "n_components = params.n_components or 2",
        (alg("test_n2d.py", "test_labels_are_the_mixtures_most_probable_component"),),
        "the manifold has 2 dimensions, not Table 3's k",
    ),
    Mutant(
        "n2d-umap-min-dist-ignored",
        "n2d",
        "algorithms/n2d.py",
        "min_dist=params.min_dist,",
        "min_dist=0.1,",
        (alg("test_n2d.py", "test_paper_settings_are_table_3s"),),
        "UMAP runs with umap-learn's default min_dist, not the configured one",
    ),
    Mutant(
        "n2d-umap-neighbours-ignored",
        "n2d",
        "algorithms/n2d.py",
        "n_neighbors=min(n_neighbors, n_samples - 1),\n            min_dist",
        "n_neighbors=min(15, n_samples - 1),\n            min_dist",
        (alg("test_n2d.py", "test_paper_settings_are_table_3s"),),
        "UMAP runs with umap-learn's default 15 neighbours, not Table 3's 20",
    ),
    Mutant(
        "n2d-labels-least-probable",
        "n2d",
        "algorithms/n2d.py",
        "labels = mixture.predict_proba(coords).argmax(axis=1)",
        "labels = mixture.predict_proba(coords).argmin(axis=1)",
        (alg("test_n2d.py", "test_labels_are_the_mixtures_most_probable_component"),),
        "labels are the mixture's least probable component",
    ),
    Mutant(
        "n2d-one-em-start",
        "n2d",
        "algorithms/n2d.py",
        "n_init=params.em_restarts,",
        "n_init=1,",
        (alg("test_n2d.py", "test_the_mixture_keeps_the_most_likely_of_its_em_restarts"),),
        "the mixture keeps its first EM run, not the most likely of em_restarts",
    ),
    # ---------------------------------------------------------------- den
    Mutant(
        "den-alpha-ignored",
        "den",
        "algorithms/den.py",
        "loss = rec + params.alpha * local + params.beta * sparse",
        "loss = rec + local + params.beta * sparse",
        (
            alg(
                "test_den.py",
                "test_the_loss_trained_weighs_the_terms_by_the_configured_alpha_beta_and_t",
            ),
        ),
        "the weight α of the locality term L_g is ignored",
    ),
    Mutant(
        "den-t-ignored",
        "den",
        "algorithms/den.py",
        "t = params.t if params.t is not None else float(dist2.mean())",
        "t = float(dist2.mean())",
        (
            alg(
                "test_den.py",
                "test_the_loss_trained_weighs_the_terms_by_the_configured_alpha_beta_and_t",
            ),
        ),
        "the configured heat-kernel width t is ignored",
    ),
    Mutant(
        "den-reconstruction-per-feature-mean",
        "den",
        "algorithms/den.py",
        "return (x - x_hat).pow(2).sum(dim=1).mean()",
        "return (x - x_hat).pow(2).mean()",
        (alg("test_den.py", "test_reconstruction_is_eq_2_summed_over_features"),),
        "L_rec averaged over the features, not summed as Eq. 2 (α, β d times stronger)",
    ),
    Mutant(
        "den-group-weight-not-rooted",
        "den",
        "algorithms/den.py",
        "torch.linalg.vector_norm(group, dim=1) * n_g**0.5",
        "torch.linalg.vector_norm(group, dim=1) * n_g",
        (alg("test_den.py", "test_group_sparsity_loss_hand_value_and_finite_gradient_at_zero"),),
        "the group lasso weighs a group by n_g instead of √n_g",
    ),
    Mutant(
        "den-neighbours-include-self",
        "den",
        "algorithms/den.py",
        "dist, idx = nn.kneighbors()",
        "dist, idx = nn.kneighbors(X.cpu().numpy())",
        (alg("test_den.py", "test_neighbours_exclude_the_sample_itself"),),
        "each sample is its own nearest neighbour (L_g pulls z_i towards itself)",
    ),
    # ---------------------------------------------------------------- ddc
    Mutant(
        "ddc-ratio-ignored",
        "ddc",
        "algorithms/ddc.py",
        "d_c = ratio * total / (n * (n - 1))",
        "d_c = total / (n * (n - 1))",
        (alg("test_ddc.py", "test_cutoff_is_ratio_times_the_mean_pairwise_distance"),),
        "the cut-off distance is the mean pairwise distance, not ratio times it",
    ),
    Mutant(
        "ddc-density-counts-self",
        "ddc",
        "algorithms/ddc.py",
        ".exp_().sum(dim=1) - 1.0",
        ".exp_().sum(dim=1)",
        (alg("test_ddc.py", "test_local_density_and_nearest_denser_point_hand_values"),),
        "ρ_i includes the i = j term exp(0) = 1",
    ),
    Mutant(
        "ddc-denser-not-strict",
        "ddc",
        "algorithms/ddc.py",
        'd.masked_fill_(rho[None, :] <= rho[rows, None], float("inf"))',
        'd.masked_fill_(rho[None, :] < rho[rows, None], float("inf"))',
        (alg("test_ddc.py", "test_local_density_and_nearest_denser_point_hand_values"),),
        "δ_i takes points of equal density, the point itself included (δ = 0)",
    ),
    Mutant(
        "ddc-merge-not-strict",
        "ddc",
        "algorithms/ddc.py",
        "strictly_within = np.nextafter(d_c, 0)",
        "strictly_within = d_c",
        (alg("test_ddc.py", "test_clusters_merge_when_core_points_are_closer_than_the_cutoff"),),
        "Eq. 11 merges clusters whose core points are exactly d_c apart",
    ),
    # ---------------------------------------------------------------- acedec
    Mutant(
        "acedec-beta-not-squared",
        "acedec",
        "algorithms/acedec.py",
        "return ((a[:, None, :] - b[None, :, :]) * beta).pow(2).sum(dim=2)",
        "return ((a[:, None, :] - b[None, :, :]).pow(2) * beta).sum(dim=2)",
        (alg("test_acedec.py", "test_weighted_distance_hand_value"),),
        "Eq. 12 weighs a feature by β instead of β²",
    ),
    Mutant(
        "acedec-shared-space-dropped",
        "acedec",
        "algorithms/acedec.py",
        "return (cluster + shared).mean()",
        "return cluster.mean()",
        (alg("test_acedec.py", "test_clustering_loss_hand_value"),),
        "Eq. 11 loses its shared-space term",
    ),
    Mutant(
        "acedec-shared-spread-wrong-axis",
        "acedec",
        "algorithms/acedec.py",
        "b = (y - y.mean(dim=0)).pow(2).mean(dim=0)",
        "b = (y - y.mean(dim=1, keepdim=True)).pow(2).mean(dim=0)",
        (alg("test_acedec.py", "test_initial_betas_minimise_eq_11_for_the_start"),),
        "the initial β's shared spread is taken around each sample's mean, the wrong axis",
    ),
    Mutant(
        "acedec-counts-running-total",
        "acedec",
        "algorithms/acedec.py",
        "counts[hit] = rate * m[hit] + (1 - rate) * counts[hit]",
        "counts[hit] = counts[hit] + m[hit]",
        (alg("test_acedec.py", "test_minibatch_kmeans_update_hand_values"),),
        "the counts c_j are Sculley's running total: the centers freeze as batches pass",
    ),
    Mutant(
        "acedec-aec-labels-frozen",
        "acedec",
        "algorithms/acedec.py",
        "            return labels\n",
        "            return state.previous_labels\n",
        (alg("test_behaviour.py", "test_acedec_on_aec_repairs_a_displaced_start"),),
        "ACe/DeC on AEC keeps its start's labels: the epoch update's assignment is dropped",
    ),
    Mutant(
        "acedec-aec-centers-not-means",
        "acedec",
        "algorithms/acedec.py",
        "return weighted_sq_distance(y, new_centers, beta_ci).argmin(dim=1), new_centers",
        "return weighted_sq_distance(y, centers, beta_ci).argmin(dim=1), centers",
        (
            alg("test_acedec.py", "test_aec_epoch_update_hand_values"),
            alg("test_behaviour.py", "test_acedec_on_aec_repairs_a_displaced_start"),
        ),
        "ACe/DeC on AEC never moves its centers to the means of their samples",
    ),
    Mutant(
        "acedec-dcn-centers-frozen",
        "acedec",
        "algorithms/acedec.py",
        "        minibatch_kmeans_update(state.centers, state.counts, y, state.batch_labels)\n",
        "",
        (behaviour("acedec"),),
        "ACe/DeC on DCN never moves its centers (the mini-batch k-means step skipped)",
    ),
    # ---------------------------------------------------------------- dipencoder
    Mutant(
        "dipencoder-pair-sign-flipped",
        "dipencoder",
        "algorithms/dipencoder.py",
        "return 0.5 * (dip(p_a) + dip(p_b)) - dip(torch.cat([p_a, p_b]))",
        "return 0.5 * (dip(p_a) + dip(p_b)) + dip(torch.cat([p_a, p_b]))",
        (alg("test_dipencoder.py", "test_pair_loss_hand_value"),),
        "Eq. 13 adds the pair's dip: the pair is pushed towards unimodality",
    ),
    Mutant(
        "dipencoder-pairs-summed",
        "dipencoder",
        "algorithms/dipencoder.py",
        "return total / len(pairs(k))",
        "return total",
        (alg("test_dipencoder.py", "test_pair_loss_hand_value"),),
        "Eq. 13's 2/(k(k−1)) dropped: the pairs are summed, not averaged",
    ),
    Mutant(
        "dipencoder-dip-detached",
        "dipencoder",
        "algorithms/dipencoder.py",
        "    xs = x[order]\n",
        "    xs = x.detach()[order]\n",
        (alg("test_dipencoder.py", "test_dip_gradient_hand_values"),),
        "the dip is computed on detached values: no gradient reaches the axes or the encoder",
    ),
    Mutant(
        "dipencoder-threshold-not-midway",
        "dipencoder",
        "algorithms/dipencoder.py",
        "projections[:, row] <= (lo_right + hi_left) / 2",
        "projections[:, row] <= hi_left",
        (alg("test_dipencoder.py", "test_label_update_splits_midway_between_the_modal_intervals"),),
        "the label threshold is the left mode's upper end, not midway between the modes",
    ),
    Mutant(
        "dipencoder-lambda-ignored",
        "dipencoder",
        "algorithms/dipencoder.py",
        '"loss": lam * rec + clust',
        '"loss": rec + clust',
        (
            alg(
                "test_dipencoder.py",
                "test_the_loss_trained_weighs_the_reconstruction_by_the_configured_lambda",
            ),
        ),
        "the reconstruction weight λ1 is ignored",
    ),
    # ---------------------------------------------------------------- vade
    Mutant(
        "vade-alpha-ignored",
        "vade",
        "algorithms/vade.py",
        "rec = alpha * (x - x_hat).pow(2).sum(dim=1)",
        "rec = (x - x_hat).pow(2).sum(dim=1)",
        (alg("test_vade.py", "test_one_cluster_loss_is_reconstruction_plus_the_gaussian_kl"),),
        "the reconstruction weight α is ignored",
    ),
    Mutant(
        "vade-alpha-default-one",
        "vade",
        "algorithms/vade.py",
        "alpha = params.alpha if params.alpha is not None else 1 / (2 * noise_variance(ae, X))",
        "alpha = params.alpha if params.alpha is not None else 1.0",
        (alg("test_vade.py", "test_fit_keeps_the_clusters_and_raises_the_elbo"),),
        "the default α is the authors' code's 1, not 1/(2σ̂²) for the autoencoder's noise",
    ),
    Mutant(
        "vade-posterior-variance-dropped",
        "vade",
        "algorithms/vade.py",
        "prior.log_vars + log_var.exp()[:, None, :] / var_c + (mu[:, None, :] - mu_c)",
        "prior.log_vars + (mu[:, None, :] - mu_c)",
        (alg("test_vade.py", "test_one_cluster_loss_is_reconstruction_plus_the_gaussian_kl"),),
        "the KL loses its σ̃²/σ²_c term",
    ),
    Mutant(
        "vade-gamma-entropy-sign",
        "vade",
        "algorithms/vade.py",
        "+ (gamma * log_gamma).sum(dim=1)",
        "- (gamma * log_gamma).sum(dim=1)",
        (
            alg(
                "test_vade.py",
                "test_cluster_term_is_the_kl_of_gamma_from_pi_plus_the_expected_gaussian_kl",
            ),
        ),
        "the Σ γ log γ term's sign is flipped",
    ),
    Mutant(
        "vade-responsibilities-wrong-axis",
        "vade",
        "algorithms/vade.py",
        "return torch.softmax(self.log_joint(z), dim=1)",
        "return torch.softmax(self.log_joint(z), dim=0)",
        (alg("test_vade.py", "test_responsibilities_hand_values"),),
        "γ normalised over the samples instead of the clusters",
    ),
]

METHODS = (
    "aekm", "aec", "dcn", "dec", "idec", "dcec", "dkm", "dekm", "dynae", "damic",
    "n2d", "den", "ddc", "acedec", "dipencoder", "vade", *PRETRAINING,
)  # fmt: skip
