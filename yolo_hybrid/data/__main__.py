from yolo_hybrid.data.synthetic import main

main()
