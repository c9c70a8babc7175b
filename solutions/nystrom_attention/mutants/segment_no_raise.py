"""segment_means silently drops the last T mod m tokens instead of raising a ValueError."""
FAILS = ["test_segment_means_rejects_indivisible_lengths"]


def segment_means(x, num_landmarks):
    T, d = x.shape[-2], x.shape[-1]
    seg = T // num_landmarks
    x = x[..., :seg * num_landmarks, :]  # truncation hides the mistake
    return x.reshape(*x.shape[:-2], num_landmarks, seg, d).mean(dim=-2)
