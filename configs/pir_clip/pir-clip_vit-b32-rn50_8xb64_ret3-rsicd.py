# PIR Table II, RSICD column of the RET-3 row: the model trained by
# pir-clip_vit-b32-rn50_8xb64_ret3.py, tested on RSICD's test split (the
# RSICD release's, as the PIR-CLIP release evaluates it).  Test only; the
# one changed key is the test benchmark list:
#   python tools/test.py configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_ret3-rsicd.py \
#       work_dirs/pir-clip_vit-b32-rn50_8xb64_ret3/best_rsitr_mR_epoch_N.pth
_base_ = ['./pir-clip_vit-b32-rn50_8xb64_ret3.py']

test_dataloader = dict(dataset=dict(datasets=[{{_base_.rsicd_test}}]))
