"""segment_means picks the first token of every segment (strided sampling) instead of averaging."""
FAILS = ["test_segment_means_values"]


def segment_means(x, num_landmarks):
    T = x.shape[-2]
    if T % num_landmarks != 0:
        raise ValueError(f"T={T} is not divisible by num_landmarks={num_landmarks}")
    return x[..., ::T // num_landmarks, :]  # (..., m, d)
