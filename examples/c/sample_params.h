/* What to sample: `charm sample --model MODEL --len 120 --temperature 0.8
 * --seed 7 --prime "the c"` prints the same bytes. build.sh --params FILE
 * takes another file like this one. */
#define SAMPLE_LEN 120
#define SAMPLE_TEMPERATURE 0.8f
#define SAMPLE_TOP_K 0
#define SAMPLE_SEED 7
#define SAMPLE_PRIME "the c"
