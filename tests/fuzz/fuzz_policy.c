/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target for the policy loader: arbitrary bytes through YAML
 * parsing, validation, compilation and one evaluation of each stage. The
 * loader must end every input with 0 or -errno and a message, within its
 * size/node/depth limits, without leaks or undefined behaviour.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rules/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct policy_errors e = {0};
	int rc = policy_load_buf("fuzz.yaml", (const char *)data, size, NULL,
				 &p, &e);
	if (rc < 0 && e.count == 0)
		abort(); /* every failure must explain itself */
	if (rc == 0) {
		struct policy_ruleset *rs = NULL;
		struct policy_scratch *s = NULL;
		if (policy_compile(p, &rs, &e) == 0 &&
		    policy_scratch_alloc(rs, &s) == 0) {
			struct policy_flow f = {.src = 0xc6120105,
						.dst = 0xcb007109,
						.dport = 443,
						.ipproto = IPPROTO_TCP};
			struct policy_verdict v;
			policy_evaluate(rs, s, &f, POLICY_SCHEME_HTTPS,
					"www.contoso.com", 15, &v);
			if (v.rule_id != POLICY_RULE_NONE &&
			    policy_rule_info(rs, v.rule_id) == NULL)
				abort();
			f.ipproto = IPPROTO_UDP;
			policy_match_network(rs, &f, &v);
		}
		policy_scratch_free(s);
		policy_ruleset_free(rs);
	}
	policy_errors_free(&e);
	policy_free(p);
	return 0;
}
