// temporarily empty
