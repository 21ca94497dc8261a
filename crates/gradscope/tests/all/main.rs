mod activations;
