/* placeholder until this module lands */
typedef int lz__placeholder_config;
