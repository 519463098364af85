/* Exercises every export of alphaforge.h from plain C. Built and run by tests/c_program.rs. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "alphaforge.h"

#define CHECK(expr, want)                                                                  \
    do {                                                                                   \
        int32_t got_ = (expr);                                                             \
        if (got_ != (want)) {                                                              \
            fprintf(stderr, "%s:%d: %s -> %s (%d), want %s; last_error=\"%s\"\n", __FILE__, \
                    __LINE__, #expr, af_status_name(got_), got_, #want, af_last_error());  \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

static AfFixed fx(int64_t raw, uint8_t precision) {
    AfFixed v = {raw, precision};
    return v;
}

static int test_versions(void) {
    assert(af_abi_version() == AF_ABI_VERSION);
    const char *info = af_build_info();
    assert(strncmp(info, "alphaforge-native ", 18) == 0);
    assert(strchr(info, '(') != NULL && info[strlen(info) - 1] == ')');
    assert(strcmp(af_last_error(), "") == 0); /* nothing failed yet on this thread */
    printf("ok versions: %s\n", info);
    return 0;
}

static int test_status_names(void) {
    assert(strcmp(af_status_name(AF_OK), "AF_OK") == 0);
    assert(strcmp(af_status_name(AF_ERR_NULL_POINTER), "AF_ERR_NULL_POINTER") == 0);
    assert(strcmp(af_status_name(AF_ERR_INVALID_ARGUMENT), "AF_ERR_INVALID_ARGUMENT") == 0);
    assert(strcmp(af_status_name(AF_ERR_PARSE), "AF_ERR_PARSE") == 0);
    assert(strcmp(af_status_name(AF_ERR_OVERFLOW), "AF_ERR_OVERFLOW") == 0);
    assert(strcmp(af_status_name(AF_ERR_PRECISION), "AF_ERR_PRECISION") == 0);
    assert(strcmp(af_status_name(AF_ERR_BUFFER_TOO_SMALL), "AF_ERR_BUFFER_TOO_SMALL") == 0);
    assert(strcmp(af_status_name(AF_ERR_NOT_FOUND), "AF_ERR_NOT_FOUND") == 0);
    assert(strcmp(af_status_name(AF_ERR_STATE), "AF_ERR_STATE") == 0);
    assert(strcmp(af_status_name(AF_ERR_DIVISION_BY_ZERO), "AF_ERR_DIVISION_BY_ZERO") == 0);
    assert(strcmp(af_status_name(AF_ERR_PANIC), "AF_ERR_PANIC") == 0);
    assert(strcmp(af_status_name(42), "AF_UNKNOWN") == 0);
    printf("ok status names\n");
    return 0;
}

static int test_layout(void) {
    size_t offset = 99, size = 99;
    CHECK(af_layout("AfFixed", NULL, &offset, &size), AF_OK);
    assert(offset == 0 && size == sizeof(AfFixed));
    CHECK(af_layout("AfFixed", "raw", &offset, &size), AF_OK);
    assert(offset == offsetof(AfFixed, raw) && size == sizeof(int64_t));
    CHECK(af_layout("AfFixed", "precision", &offset, &size), AF_OK);
    assert(offset == offsetof(AfFixed, precision) && size == sizeof(uint8_t));
    CHECK(af_layout("AfFixed", "bogus", &offset, &size), AF_ERR_NOT_FOUND);
    CHECK(af_layout("Bogus", NULL, &offset, &size), AF_ERR_NOT_FOUND);
    CHECK(af_layout(NULL, NULL, &offset, &size), AF_ERR_NULL_POINTER);
    assert(strcmp(af_last_error(), "record is NULL") == 0);
    CHECK(af_layout("AfFixed", NULL, NULL, &size), AF_ERR_NULL_POINTER);
    printf("ok layout\n");
    return 0;
}

static int test_fixed_parse_format(void) {
    AfFixed v = fx(777, 7);
    char buf[32];
    size_t written = 0;

    CHECK(af_fixed_parse("-12.50", AF_PRECISION_INFER, &v), AF_OK);
    assert(v.raw == -1250 && v.precision == 2);
    CHECK(af_fixed_parse("3.1", 4, &v), AF_OK);
    assert(v.raw == 31000 && v.precision == 4);
    CHECK(af_fixed_parse("2.500", 1, &v), AF_OK); /* extra zeros are fine */
    assert(v.raw == 25 && v.precision == 1);

    v = fx(777, 7);
    CHECK(af_fixed_parse("12.3x", AF_PRECISION_INFER, &v), AF_ERR_PARSE);
    assert(strcmp(af_last_error(), "text=\"12.3x\": invalid digit 'x' at position 4") == 0);
    assert(v.raw == 777 && v.precision == 7); /* untouched on error */
    CHECK(af_fixed_parse("1e5", AF_PRECISION_INFER, &v), AF_ERR_PARSE);
    CHECK(af_fixed_parse("nan", AF_PRECISION_INFER, &v), AF_ERR_PARSE);
    CHECK(af_fixed_parse(" 1", AF_PRECISION_INFER, &v), AF_ERR_PARSE);
    CHECK(af_fixed_parse("", AF_PRECISION_INFER, &v), AF_ERR_PARSE);
    CHECK(af_fixed_parse("9223372036854775808", AF_PRECISION_INFER, &v), AF_ERR_PARSE);
    CHECK(af_fixed_parse("1.25", 1, &v), AF_ERR_PRECISION);
    CHECK(af_fixed_parse("1", 19, &v), AF_ERR_PRECISION);
    assert(strstr(af_last_error(), "precision=19") != NULL);
    CHECK(af_fixed_parse("\xff", AF_PRECISION_INFER, &v), AF_ERR_INVALID_ARGUMENT);
    CHECK(af_fixed_parse(NULL, AF_PRECISION_INFER, &v), AF_ERR_NULL_POINTER);
    assert(strcmp(af_last_error(), "text is NULL") == 0);
    CHECK(af_fixed_parse("1", AF_PRECISION_INFER, NULL), AF_ERR_NULL_POINTER);
    assert(v.raw == 777 && v.precision == 7);

    CHECK(af_fixed_format(fx(-50, 2), buf, sizeof buf, &written), AF_OK);
    assert(strcmp(buf, "-0.50") == 0 && written == 5);
    CHECK(af_fixed_format(fx(12, 0), buf, sizeof buf, &written), AF_OK);
    assert(strcmp(buf, "12") == 0 && written == 2);
    CHECK(af_fixed_format(fx(1, 18), buf, sizeof buf, &written), AF_OK);
    assert(strcmp(buf, "0.000000000000000001") == 0 && written == 20);
    /* Buffer protocol: too small -> required length without NUL, buffer untouched. */
    memset(buf, 'Z', sizeof buf);
    CHECK(af_fixed_format(fx(-50, 2), buf, 5, &written), AF_ERR_BUFFER_TOO_SMALL);
    assert(written == 5 && buf[0] == 'Z');
    CHECK(af_fixed_format(fx(-50, 2), NULL, 0, &written), AF_ERR_BUFFER_TOO_SMALL);
    assert(written == 5);
    CHECK(af_fixed_format(fx(-50, 2), buf, 6, &written), AF_OK);
    assert(strcmp(buf, "-0.50") == 0);
    CHECK(af_fixed_format(fx(-50, 2), buf, sizeof buf, NULL), AF_ERR_NULL_POINTER);
    CHECK(af_fixed_format(fx(1, 19), buf, sizeof buf, &written), AF_ERR_PRECISION);
    printf("ok fixed parse/format\n");
    return 0;
}

static int test_fixed_arithmetic(void) {
    AfFixed out = fx(777, 7);
    int32_t ord = 42;

    CHECK(af_fixed_add(fx(15, 1), fx(25, 2), &out), AF_OK); /* 1.5 + 0.25 */
    assert(out.raw == 175 && out.precision == 2);
    CHECK(af_fixed_sub(fx(1, 0), fx(1, 3), &out), AF_OK); /* 1 - 0.001 */
    assert(out.raw == 999 && out.precision == 3);
    CHECK(af_fixed_mul(fx(125, 2), fx(3, 0), 1, AF_ROUND_HALF_EVEN, &out), AF_OK);
    assert(out.raw == 38 && out.precision == 1); /* 3.75 -> 3.8 */
    CHECK(af_fixed_mul(fx(125, 2), fx(3, 0), 1, AF_ROUND_DOWN, &out), AF_OK);
    assert(out.raw == 37);
    CHECK(af_fixed_div(fx(-2, 0), fx(3, 0), 2, AF_ROUND_FLOOR, &out), AF_OK);
    assert(out.raw == -67 && out.precision == 2);
    CHECK(af_fixed_div(fx(-2, 0), fx(3, 0), 2, AF_ROUND_CEILING, &out), AF_OK);
    assert(out.raw == -66);
    CHECK(af_fixed_div(fx(-2, 0), fx(3, 0), 2, AF_ROUND_UP, &out), AF_OK);
    assert(out.raw == -67);
    CHECK(af_fixed_rescale(fx(2675, 3), 2, AF_ROUND_HALF_EVEN, &out), AF_OK);
    assert(out.raw == 268 && out.precision == 2);
    CHECK(af_fixed_rescale(fx(5, 1), 3, AF_ROUND_DOWN, &out), AF_OK);
    assert(out.raw == 500 && out.precision == 3);

    out = fx(777, 7);
    CHECK(af_fixed_add(fx(INT64_MAX, 0), fx(1, 0), &out), AF_ERR_OVERFLOW);
    assert(strcmp(af_last_error(), "a=9223372036854775807, b=1: overflow in add") == 0);
    CHECK(af_fixed_sub(fx(INT64_MIN, 0), fx(1, 0), &out), AF_ERR_OVERFLOW);
    CHECK(af_fixed_mul(fx(INT64_MAX, 0), fx(2, 0), 0, AF_ROUND_DOWN, &out), AF_ERR_OVERFLOW);
    CHECK(af_fixed_div(fx(1, 0), fx(0, 2), 2, AF_ROUND_DOWN, &out), AF_ERR_DIVISION_BY_ZERO);
    CHECK(af_fixed_rescale(fx(10, 0), 18, AF_ROUND_DOWN, &out), AF_ERR_OVERFLOW);
    CHECK(af_fixed_mul(fx(1, 0), fx(1, 0), 2, 99, &out), AF_ERR_INVALID_ARGUMENT);
    CHECK(af_fixed_div(fx(1, 0), fx(1, 0), AF_PRECISION_INFER, AF_ROUND_DOWN, &out), AF_ERR_PRECISION);
    CHECK(af_fixed_add(fx(1, 0), fx(1, 19), &out), AF_ERR_PRECISION);
    assert(strcmp(af_last_error(), "b.precision=19: must be in 0..=18") == 0);
    CHECK(af_fixed_add(fx(1, 0), fx(1, 0), NULL), AF_ERR_NULL_POINTER);
    CHECK(af_fixed_sub(fx(1, 0), fx(1, 0), NULL), AF_ERR_NULL_POINTER);
    CHECK(af_fixed_mul(fx(1, 0), fx(1, 0), 0, 0, NULL), AF_ERR_NULL_POINTER);
    CHECK(af_fixed_div(fx(1, 0), fx(1, 0), 0, 0, NULL), AF_ERR_NULL_POINTER);
    CHECK(af_fixed_rescale(fx(1, 0), 0, 0, NULL), AF_ERR_NULL_POINTER);
    assert(out.raw == 777 && out.precision == 7);

    CHECK(af_fixed_cmp(fx(10, 1), fx(100, 2), &ord), AF_OK); /* 1.0 == 1.00 */
    assert(ord == 0);
    CHECK(af_fixed_cmp(fx(-1, 0), fx(1, 18), &ord), AF_OK);
    assert(ord == -1);
    CHECK(af_fixed_cmp(fx(1001, 3), fx(1, 0), &ord), AF_OK);
    assert(ord == 1);
    CHECK(af_fixed_cmp(fx(1, 0), fx(1, 0), NULL), AF_ERR_NULL_POINTER);
    printf("ok fixed arithmetic\n");
    return 0;
}

static int test_time(void) {
    uint64_t ns = 5;
    char buf[31];
    size_t written = 0;

    CHECK(af_time_parse_iso8601("2024-08-08T00:00:00.123456789Z", &ns), AF_OK);
    assert(ns == 1723075200123456789ULL);
    CHECK(af_time_parse_iso8601("2024-08-07T20:00:00-04:00", &ns), AF_OK);
    assert(ns == 1723075200000000000ULL);
    CHECK(af_time_format_iso8601(1723075200123456789ULL, buf, sizeof buf, &written), AF_OK);
    assert(strcmp(buf, "2024-08-08T00:00:00.123456789Z") == 0 && written == 30);
    CHECK(af_time_format_iso8601(0, buf, 30, &written), AF_ERR_BUFFER_TOO_SMALL);
    assert(written == 30);

    ns = 5;
    CHECK(af_time_parse_iso8601("2024-13-01T00:00:00Z", &ns), AF_ERR_PARSE);
    assert(strstr(af_last_error(), "month 13") != NULL);
    CHECK(af_time_parse_iso8601("1969-12-31T23:59:59Z", &ns), AF_ERR_PARSE);
    CHECK(af_time_parse_iso8601(NULL, &ns), AF_ERR_NULL_POINTER);
    CHECK(af_time_parse_iso8601("2024-08-08T00:00:00Z", NULL), AF_ERR_NULL_POINTER);
    CHECK(af_time_format_iso8601(0, buf, sizeof buf, NULL), AF_ERR_NULL_POINTER);
    assert(ns == 5);
    printf("ok time\n");
    return 0;
}

static int test_interner(void) {
    AfInterner *h = NULL;
    uint32_t id = 99;
    size_t len = 99, written = 0;
    char buf[32];

    af_interner_free(NULL); /* tolerated */
    CHECK(af_interner_new(NULL), AF_ERR_NULL_POINTER);
    CHECK(af_interner_new(&h), AF_OK);
    assert(h != NULL);
    CHECK(af_interner_len(h, &len), AF_OK);
    assert(len == 0);
    CHECK(af_interner_intern(h, "BTCUSDT.BINANCE", &id), AF_OK);
    assert(id == 0);
    CHECK(af_interner_intern(h, "ETHUSDT.BINANCE", &id), AF_OK);
    assert(id == 1);
    CHECK(af_interner_intern(h, "BTCUSDT.BINANCE", &id), AF_OK);
    assert(id == 0);
    CHECK(af_interner_len(h, &len), AF_OK);
    assert(len == 2);
    CHECK(af_interner_resolve(h, 1, buf, sizeof buf, &written), AF_OK);
    assert(strcmp(buf, "ETHUSDT.BINANCE") == 0 && written == 15);
    CHECK(af_interner_resolve(h, 1, buf, 15, &written), AF_ERR_BUFFER_TOO_SMALL);
    assert(written == 15);
    CHECK(af_interner_resolve(h, 2, buf, sizeof buf, &written), AF_ERR_NOT_FOUND);
    assert(strcmp(af_last_error(), "id=2: not interned (len=2)") == 0);
    CHECK(af_interner_intern(NULL, "x", &id), AF_ERR_NULL_POINTER);
    assert(strcmp(af_last_error(), "h is NULL") == 0);
    CHECK(af_interner_intern(h, NULL, &id), AF_ERR_NULL_POINTER);
    CHECK(af_interner_intern(h, "x", NULL), AF_ERR_NULL_POINTER);
    CHECK(af_interner_intern(h, "bad\xc3", &id), AF_ERR_INVALID_ARGUMENT);
    CHECK(af_interner_len(NULL, &len), AF_ERR_NULL_POINTER);
    CHECK(af_interner_len(h, NULL), AF_ERR_NULL_POINTER);
    CHECK(af_interner_resolve(NULL, 0, buf, sizeof buf, &written), AF_ERR_NULL_POINTER);
    CHECK(af_interner_resolve(h, 0, buf, sizeof buf, NULL), AF_ERR_NULL_POINTER);
    af_interner_free(h);
    printf("ok interner\n");
    return 0;
}

static int test_bars(void) {
    AfBarAggregator *h = NULL;
    CHECK(af_bars_new(AF_BAR_TIME, 60, &h), AF_OK);
    AfPriceSample samples[] = {{61, 10, 1}, {70, 12, 2}, {119, 9, 1}, {120, 11, 5}};
    AfBar bars[4];
    size_t written = 99;
    CHECK(af_bars_update(h, samples, 4, bars, 4, &written), AF_OK);
    if (written != 1 || bars[0].ts_open != 60 || bars[0].ts_close != 120 || bars[0].open != 10 ||
        bars[0].high != 12 || bars[0].low != 9 || bars[0].close != 9 || bars[0].volume != 4 ||
        bars[0].ticks != 3) {
        fprintf(stderr, "unexpected first bar\n");
        return 1;
    }
    AfBar partial;
    int32_t has = 0;
    CHECK(af_bars_partial(h, &partial, &has), AF_OK);
    if (has != 1 || partial.open != 11) {
        fprintf(stderr, "unexpected partial bar\n");
        return 1;
    }
    CHECK(af_bars_flush(h, 180, bars, 4, &written), AF_OK);
    if (written != 1 || bars[0].ts_close != 180) {
        fprintf(stderr, "flush did not close the bar\n");
        return 1;
    }
    AfPriceSample backwards[] = {{200, 1, 1}, {100, 1, 1}};
    CHECK(af_bars_update(h, backwards, 2, bars, 4, &written), AF_ERR_INVALID_ARGUMENT);
    if (strstr(af_last_error(), "sample 1") == NULL) {
        fprintf(stderr, "last error does not name the sample: %s\n", af_last_error());
        return 1;
    }
    CHECK(af_bars_new(42, 1, &h), AF_ERR_INVALID_ARGUMENT);
    af_bars_free(h);
    af_bars_free(NULL);
    printf("ok bars\n");
    return 0;
}

static int test_book(void) {
    AfBook *h = NULL;
    CHECK(af_book_new(AF_BOOK_L2_MBP, 2, 3, &h), AF_OK);
    AfBookDelta deltas[3];
    memset(deltas, 0, sizeof deltas);
    deltas[0] = (AfBookDelta){.ts_event = 1, .sequence = 1, .price = 5000000, .size = 1500,
                              .action = AF_BOOK_ADD, .side = AF_BOOK_BUY};
    deltas[1] = (AfBookDelta){.ts_event = 1, .sequence = 1, .price = 5000025, .size = 800,
                              .action = AF_BOOK_ADD, .side = AF_BOOK_SELL};
    deltas[2] = (AfBookDelta){.ts_event = 1, .sequence = 1, .price = 4999990, .size = 2000,
                              .action = AF_BOOK_ADD, .side = AF_BOOK_BUY,
                              .flags = AF_BOOK_F_LAST};
    size_t applied = 0;
    CHECK(af_book_apply_batch(h, deltas, 3, &applied), AF_OK);
    AfBookTop top;
    CHECK(af_book_top(h, &top), AF_OK);
    if (applied != 3 || top.bid_price != 5000000 || top.ask_price != 5000025 ||
        top.bid_size != 1500 || top.ask_size != 800) {
        fprintf(stderr, "unexpected top of book\n");
        return 1;
    }
    int64_t prices[4], sizes[4];
    size_t written = 0;
    CHECK(af_book_depth(h, AF_BOOK_BUY, 4, prices, sizes, &written), AF_OK);
    if (written != 2 || prices[1] != 4999990 || sizes[1] != 2000) {
        fprintf(stderr, "unexpected depth\n");
        return 1;
    }
    /* A negative size anywhere in a batch: refused, nothing applied, the book unchanged. */
    AfBookDelta bad[2] = {deltas[0], deltas[1]};
    bad[0].size = 1;
    bad[1].size = -5;
    CHECK(af_book_apply_batch(h, bad, 2, &applied), AF_ERR_INVALID_ARGUMENT);
    CHECK(af_book_top(h, &top), AF_OK);
    if (top.bid_size != 1500) {
        fprintf(stderr, "a refused batch changed the book\n");
        return 1;
    }
    CHECK(af_book_apply_batch(NULL, deltas, 3, &applied), AF_ERR_NULL_POINTER);
    af_book_free(h);
    af_book_free(NULL);
    printf("ok book\n");
    return 0;
}

static int test_matching(void) {
    AfMatchingConfig config;
    CHECK(af_matching_config_default(AF_MATCH_MODE_EXCHANGE, &config), AF_OK);
    AfMatchingEngine *h = NULL;
    CHECK(af_matching_new(&config, &h), AF_OK);
    AfOrderCommand cmds[2];
    memset(cmds, 0, sizeof cmds);
    cmds[0] = (AfOrderCommand){.ts = 1, .client_order_id = 1, .price = 100, .qty = 2,
                               .trader_id = 7, .kind = AF_MATCH_CMD_SUBMIT,
                               .side = AF_MATCH_SELL, .order_type = AF_MATCH_LIMIT,
                               .time_in_force = AF_MATCH_GTC};
    cmds[1] = (AfOrderCommand){.ts = 2, .client_order_id = 2, .price = 100, .qty = 1,
                               .trader_id = 8, .kind = AF_MATCH_CMD_SUBMIT,
                               .side = AF_MATCH_BUY, .order_type = AF_MATCH_LIMIT,
                               .time_in_force = AF_MATCH_GTC};
    size_t processed = 0;
    CHECK(af_matching_submit_batch(h, cmds, 2, &processed), AF_OK);
    AfMatchEvent events[8];
    size_t written = 0;
    CHECK(af_matching_drain_events(h, events, 8, &written), AF_OK);
    int filled = 0;
    for (size_t i = 0; i < written; i++) {
        if (events[i].kind == AF_MATCH_EVT_FILLED && events[i].client_order_id == 2 &&
            events[i].price == 100 && events[i].qty == 1) {
            filled = 1;
        }
    }
    size_t open = 0;
    CHECK(af_matching_order_count(h, &open), AF_OK);
    if (processed != 2 || !filled || open != 1) {
        fprintf(stderr, "unexpected matching outcome (filled=%d open=%zu)\n", filled, open);
        return 1;
    }
    cmds[0].side = 9; /* not a side: the whole batch is refused */
    CHECK(af_matching_submit_batch(h, cmds, 1, &processed), AF_ERR_INVALID_ARGUMENT);
    af_matching_free(h);
    af_matching_free(NULL);
    printf("ok matching\n");
    return 0;
}

int main(void) {
    if (test_versions() || test_status_names() || test_layout() || test_fixed_parse_format() ||
        test_fixed_arithmetic() || test_time() || test_interner() || test_bars() ||
        test_book() || test_matching()) {
        return 1;
    }
    printf("ok all\n");
    return 0;
}
