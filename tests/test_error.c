/* The error table (include/lrzoo/error.h): names and exit statuses come from one list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/error.h"

static void exit_statuses_should_follow_the_documented_contract(void **state) {
  (void)state;
  assert_int_equal(lz_exit_code(LZ_OK), 0);
  assert_int_equal(lz_exit_code(LZ_EJOB), 2);      /* bad input: nothing written */
  assert_int_equal(lz_exit_code(LZ_ESTOPPED), 3);  /* stopped: --resume continues */
  const int failures[] = {LZ_ENOMEM, LZ_EINVAL, LZ_EIO, LZ_EHDF5, LZ_EMPI, LZ_ENUMERIC, -99, 7};
  for (size_t i = 0; i < sizeof failures / sizeof failures[0]; ++i)
    assert_int_equal(lz_exit_code(failures[i]), 1);
}

static void every_code_should_have_its_own_name(void **state) {
  (void)state;
  assert_string_equal(lz_err_name(LZ_OK), "LZ_OK");
  assert_string_equal(lz_err_name(LZ_ESTOPPED), "LZ_ESTOPPED");
  assert_string_equal(lz_err_name(LZ_ENUMERIC), "LZ_ENUMERIC");
  assert_string_equal(lz_err_name(-99), "LZ_EUNKNOWN");
  for (int a = LZ_ENUMERIC; a <= LZ_OK; ++a)
    for (int b = a + 1; b <= LZ_OK; ++b) assert_string_not_equal(lz_err_name(a), lz_err_name(b));
}

static void a_prefix_should_keep_the_message_and_cut_only_its_tail(void **state) {
  (void)state;
  lz_err err;
  lz_err_set(&err, LZ_EIO, "cannot open %s", "out.h5");
  assert_int_equal(lz_err_prefix(&err, "tile %d: ", 3), LZ_EIO);
  assert_string_equal(err.msg, "tile 3: cannot open out.h5");
  char long_msg[LZ_ERR_MSG_MAX];
  memset(long_msg, 'x', sizeof long_msg - 1);
  long_msg[sizeof long_msg - 1] = '\0';
  lz_err_set(&err, LZ_EIO, "%s", long_msg);
  lz_err_prefix(&err, "job: ");
  assert_int_equal(strlen(err.msg), LZ_ERR_MSG_MAX - 1);
  assert_memory_equal(err.msg, "job: xxx", 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exit_statuses_should_follow_the_documented_contract),
      cmocka_unit_test(every_code_should_have_its_own_name),
      cmocka_unit_test(a_prefix_should_keep_the_message_and_cut_only_its_tail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
