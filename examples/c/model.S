/* The .charm file, linked into flash as it is, 16-byte aligned so that its
 * tensors are read in place: CHARM_MODEL_FILE is its path (build.sh sets it). */
    .section .rodata.charm_model, "a"
    .balign 16
    .global charm_model_bytes
charm_model_bytes:
    .incbin CHARM_MODEL_FILE
    .global charm_model_bytes_end
charm_model_bytes_end:

    .section .note.GNU-stack, "", %progbits
