# unit_json: the JSON mapping. Owned by the JSON codec work.
heatblast_add_test(unit_json json_decode_test.cpp)
