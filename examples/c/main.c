/* charm from C: the model linked into flash, the generator's state in a
 * static arena, the text out as it is drawn. Prints exactly what
 *   charm sample --model MODEL --len SAMPLE_LEN --temperature SAMPLE_TEMPERATURE
 *                --seed SAMPLE_SEED --top-k SAMPLE_TOP_K --prime SAMPLE_PRIME
 * prints on a desktop: the prime, the characters, a newline. On bad input,
 * one line "error: ..." and exit status 1 (the model) or 3 (the parameters),
 * as the Rust firmware does. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "charm.h"
#include CHARM_PARAMS

/* The .charm file (model.S). */
extern const uint8_t charm_model_bytes[], charm_model_bytes_end[];

/* The generator's memory: enough for any model of up to ARENA_LAYERS layers
 * of any cell (the library built with `cells`), ARENA_HIDDEN units each and
 * ARENA_VOCAB characters, of any element type (6 KiB on a 32-bit core, for
 * the micro:bit's 16 KiB of RAM); a model of one tanh layer up to H 256, V 512
 * needs less than that (charm_generator_init() checks the model's own size,
 * charm_generator_size()). -DARENA_HIDDEN=... etc. change it. */
#ifndef ARENA_HIDDEN
#define ARENA_HIDDEN 128
#endif
#ifndef ARENA_VOCAB
#define ARENA_VOCAB 256
#endif
#ifndef ARENA_LAYERS
#define ARENA_LAYERS 2
#endif

static charm_model model;
static uint64_t arena[CHARM_GENERATOR_LAYERS_WORDS_MAX(ARENA_HIDDEN, ARENA_VOCAB, ARENA_LAYERS)];

/* Output goes out in lines of up to 64 bytes. */
static uint8_t out[64];
static size_t out_length;

static void flush(void)
{
    board_write(out, out_length);
    out_length = 0;
}

static void put(const void *bytes, size_t length)
{
    const uint8_t *b = bytes;
    for (size_t i = 0; i < length; i++) {
        if (out_length == sizeof out) {
            flush();
        }
        out[out_length++] = b[i];
    }
}

static size_t text_length(const char *text)
{
    size_t n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}

/* "error: WHAT: " and charm's sentence for `err`, one line; returns `status`. */
static int fail(const char *what, const charm_error *err, int status)
{
    char sentence[200];
    size_t n = charm_error_sentence(err, sentence, sizeof sentence);
    flush();
    put("error: ", 7);
    put(what, text_length(what));
    put(": ", 2);
    put(sentence, n < sizeof sentence ? n : sizeof sentence - 1);
    put("\n", 1);
    flush();
    return status;
}

int main(void)
{
    charm_error err;
    charm_generator *g;
    const size_t model_length = (size_t)(charm_model_bytes_end - charm_model_bytes);

    if (charm_model_init(&model, charm_model_bytes, model_length, &err) != CHARM_OK) {
        return fail("the weights linked in cannot be used", &err, 1);
    }
    if (charm_generator_init(&g, arena, sizeof arena, &model, &err) != CHARM_OK) {
        return fail("cannot generate", &err, 3);
    }
    static const char prime[] = SAMPLE_PRIME;
    if (charm_generator_set_temperature(g, SAMPLE_TEMPERATURE, &err) != CHARM_OK ||
        charm_generator_set_top_k(g, SAMPLE_TOP_K, &err) != CHARM_OK ||
        charm_generator_set_seed(g, SAMPLE_SEED, &err) != CHARM_OK ||
        charm_generator_prime(g, prime, sizeof prime - 1, &err) != CHARM_OK) {
        return fail("cannot generate", &err, 3);
    }
    put(prime, sizeof prime - 1);
    for (uint32_t i = 0; i < SAMPLE_LEN; i++) {
        uint8_t c[CHARM_UTF8_MAX];
        size_t n;
        if (charm_generator_next(g, c, sizeof c, &n, &err) != CHARM_OK) {
            return fail("cannot generate", &err, 3);
        }
        put(c, n);
    }
    put("\n", 1);
    flush();
    return 0;
}
